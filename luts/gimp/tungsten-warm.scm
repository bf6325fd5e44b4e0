;; description: Household tungsten bulbs (about 3000 K) under a daylight white balance: a warm orange cast, weak blues
;; tags: lighting, cast, orange, warm
(define (lutkit-tungsten-warm hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.58 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.48 1.0 0.95))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.0 0.5 0.31 1.0 0.72)))))
