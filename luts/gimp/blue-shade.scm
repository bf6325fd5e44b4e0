;; description: A subject in open shade, lit by blue sky, under a sunlight white balance: a cool blue cast
;; tags: lighting, cast, blue, cool
(define (lutkit-blue-shade hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.46 1.0 0.97))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.49 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.02 0.5 0.57 1.0 1.0)))))
