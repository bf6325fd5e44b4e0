;; description: An old print yellowed by age and varnish: yellow highlights and paper, soft contrast, muted colour
;; tags: film, fade, cast, yellow
(define (lutkit-yellowed-print hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -20 0)
      (gimp-drawable-levels layer HISTOGRAM-VALUE 0.0 1.0 TRUE 1.0 0.05 0.95 TRUE)
      (gimp-drawable-curves-spline layer HISTOGRAM-BLUE 6 #(0.0 0.02 0.5 0.4 1.0 0.74))
      (gimp-drawable-curves-spline layer HISTOGRAM-GREEN 6 #(0.0 0.0 0.5 0.48 1.0 0.93)))))
