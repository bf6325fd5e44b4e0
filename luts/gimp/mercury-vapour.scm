;; description: Old mercury-vapour street or factory lights: a cold blue-green cast, reds weak, skin grey-green
;; tags: lighting, cast, cyan, green, night
(define (lutkit-mercury-vapour hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -20 0)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.38 1.0 0.8))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.53 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.0 0.5 0.5 1.0 0.95)))))
