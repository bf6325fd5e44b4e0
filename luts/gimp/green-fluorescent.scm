;; description: Cool-white fluorescent tubes under a daylight white balance: a green cast, strongest in the midtones
;; tags: lighting, cast, green
(define (lutkit-green-fluorescent hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.46 1.0 0.97))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.55 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.0 0.5 0.47 1.0 0.96))
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -6 0))))
