;; description: A cool colourist grade: blue-steel shadows and midtones, clean highlights, slightly muted colour
;; tags: colourist, cool, blue
(define (lutkit-cool-grade hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-color-balance layer TRANSFER-SHADOWS TRUE -8 0 12)
      (gimp-drawable-color-balance layer TRANSFER-MIDTONES TRUE -6 0 10)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -10 0))))
