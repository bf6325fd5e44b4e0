;; description: The blockbuster colourist grade: teal shadows, warm skin and highlights, a touch more saturation
;; tags: colourist, teal, orange
(define (lutkit-teal-orange hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-color-balance layer TRANSFER-SHADOWS TRUE -14 2 12)
      (gimp-drawable-color-balance layer TRANSFER-MIDTONES TRUE 4 0 -6)
      (gimp-drawable-color-balance layer TRANSFER-HIGHLIGHTS TRUE 8 0 -12)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 8 0))))
