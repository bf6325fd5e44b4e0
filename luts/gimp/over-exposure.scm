;; description: Almost one stop over-exposed: linear-light values times 1.8 with a soft roll-off into clipped highlights
;; tags: exposure, bright
(define (lutkit-over-exposure hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-VALUE 14
        #(0.0 0.0 0.1 0.143 0.25 0.335 0.4 0.526 0.55 0.718 0.7 0.91 1.0 1.0)))))
