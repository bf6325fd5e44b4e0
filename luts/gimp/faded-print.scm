;; description: A colour print from the 1970s-80s: the cyan dye has faded, so a warm red-magenta cast, milky blacks, soft contrast
;; tags: film, fade, cast, red
(define (lutkit-faded-print hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-levels layer HISTOGRAM-VALUE 0.0 1.0 TRUE 1.0 0.07 0.94 TRUE)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -25 0)
      (gimp-drawable-color-balance layer TRANSFER-SHADOWS FALSE 8 -4 -2)
      (gimp-drawable-color-balance layer TRANSFER-MIDTONES TRUE 12 -6 -6)
      (gimp-drawable-color-balance layer TRANSFER-HIGHLIGHTS FALSE 4 0 -6))))
