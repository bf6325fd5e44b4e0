;; description: A magenta cast, as from cheap LED lighting or a fluorescent-corrected white balance in daylight
;; tags: lighting, cast, magenta
(define (lutkit-magenta-cast hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.52 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.45 1.0 0.96))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.0 0.5 0.52 1.0 1.0)))))
