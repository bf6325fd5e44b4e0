;; description: A heavy teal-and-orange grade: cyan-teal shadows and backgrounds, orange skin and highlights
;; tags: colourist, teal, orange, strong
(define (lutkit-teal-orange-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-color-balance layer TRANSFER-SHADOWS TRUE -28 4 24)
      (gimp-drawable-color-balance layer TRANSFER-MIDTONES TRUE 8 0 -12)
      (gimp-drawable-color-balance layer TRANSFER-HIGHLIGHTS TRUE 16 0 -24)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 16 0)
      (gimp-drawable-curves-spline layer HISTOGRAM-VALUE 8 #(0.0 0.0 0.25 0.22 0.75 0.78 1.0 1.0)))))
