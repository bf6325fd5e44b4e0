;; description: About 1.7 stops under-exposed: linear-light values times 0.3, a dark, murky picture
;; tags: exposure, dark, strong
(define (lutkit-under-exposure-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-VALUE 12
        #(0.0 0.0 0.1 0.039 0.25 0.13 0.5 0.281 0.75 0.432 1.0 0.584)))))
