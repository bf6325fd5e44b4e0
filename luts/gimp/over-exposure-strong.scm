;; description: About 1.7 stops over-exposed: linear-light values times 3.2, highlights and bright skin burnt out
;; tags: exposure, bright, strong
(define (lutkit-over-exposure-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-curves-spline layer HISTOGRAM-VALUE 12
        #(0.0 0.0 0.1 0.197 0.25 0.44 0.4 0.684 0.55 0.927 0.7 1.0)))))
