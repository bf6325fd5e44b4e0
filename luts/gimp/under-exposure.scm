;; description: One stop under-exposed: every linear-light value halved, then sRGB-encoded again (a Curves preset)
;; tags: exposure, dark
(define (lutkit-under-exposure hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-VALUE 12
        #(0.0 0.0 0.1 0.061 0.25 0.173 0.5 0.361 0.75 0.548 1.0 0.735)))))
