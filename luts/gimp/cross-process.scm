;; description: Slide film developed as a negative (E-6 in C-41): yellow-green highlights, blue shadows, hard contrast
;; tags: film, colourist, cross-process, yellow, blue, heldout
(define (lutkit-cross-process hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 8 #(0.0 0.0 0.25 0.2 0.75 0.82 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 8 #(0.0 0.0 0.25 0.21 0.75 0.83 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.08 0.5 0.46 1.0 0.84))
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 10 0))))
