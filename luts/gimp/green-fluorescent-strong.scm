;; description: Old fluorescent tubes (poor colour rendering) under a daylight white balance: a strong green cast, flat skin tones
;; tags: lighting, cast, green, strong
(define (lutkit-green-fluorescent-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -15 0)
      (gimp-drawable-curves-spline layer HISTOGRAM-RED 6 #(0.0 0.0 0.5 0.41 1.0 0.92))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.02 0.5 0.6 1.0 1.0))
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.0 0.5 0.44 1.0 0.9))
      (gimp-drawable-color-balance layer TRANSFER-SHADOWS FALSE -4 6 0))))
