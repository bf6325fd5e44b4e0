;; description: Low-pressure sodium street lights: near-monochrome orange, almost every other colour gone
;; tags: lighting, cast, orange, night, strong
(define (lutkit-sodium-orange-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -85 0)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.6 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.36 1.0 0.78))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.0 0.5 0.1 1.0 0.3)))))
