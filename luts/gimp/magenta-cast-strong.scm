;; description: A strong magenta cast, as from a fluorescent-correction filter left on in daylight
;; tags: lighting, cast, magenta, strong
(define (lutkit-magenta-cast-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.55 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.39 1.0 0.9))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.0 0.5 0.54 1.0 1.0))
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -5 0))))
