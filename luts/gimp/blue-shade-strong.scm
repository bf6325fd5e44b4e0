;; description: Deep shade or dusk under a sunlight white balance: a strong blue cast, cold skin tones
;; tags: lighting, cast, blue, cool, strong
(define (lutkit-blue-shade-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.39 1.0 0.92))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.47 1.0 0.98))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.05 0.5 0.64 1.0 1.0)))))
