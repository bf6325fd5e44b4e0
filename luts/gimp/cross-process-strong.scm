;; description: Strong cross-processing: yellow-green highlights, deep blue shadows, crushed contrast
;; tags: film, colourist, cross-process, yellow, blue, strong, heldout
(define (lutkit-cross-process-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 8 #(0.0 0.0 0.25 0.17 0.75 0.85 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 8 #(0.0 0.0 0.25 0.19 0.75 0.86 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.13 0.5 0.44 1.0 0.78))
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 12 0))))
