;; description: A gentle warm colourist grade: golden highlights, slightly warm midtones, shadows left neutral
;; tags: colourist, warm, orange
(define (lutkit-warm-grade hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-color-balance layer TRANSFER-MIDTONES TRUE 6 2 -10)
      (gimp-drawable-color-balance layer TRANSFER-HIGHLIGHTS TRUE 6 0 -12)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 5 0))))
