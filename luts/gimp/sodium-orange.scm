;; description: High-pressure sodium street lights: an orange-yellow cast, blues and greens lost, colours muted
;; tags: lighting, cast, orange, night
(define (lutkit-sodium-orange hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -40 0)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.57 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.43 1.0 0.88))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.0 0.5 0.22 1.0 0.58)))))
