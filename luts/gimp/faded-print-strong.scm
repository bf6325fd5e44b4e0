;; description: A badly faded colour print: the cyan dye largely gone, a strong red-magenta cast, grey-pink blacks, low contrast
;; tags: film, fade, cast, red, strong
(define (lutkit-faded-print-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-levels layer HISTOGRAM-VALUE 0.0 1.0 TRUE 0.95 0.14 0.9 TRUE)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -45 0)
      (gimp-drawable-color-balance layer TRANSFER-SHADOWS FALSE 16 -8 -4)
      (gimp-drawable-color-balance layer TRANSFER-MIDTONES TRUE 24 -12 -10)
      (gimp-drawable-color-balance layer TRANSFER-HIGHLIGHTS FALSE 8 -2 -10))))
