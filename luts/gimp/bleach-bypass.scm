;; description: Bleach bypass: the silver left in the film, so low saturation, harder contrast and dense blacks
;; tags: film, colourist, desaturated
(define (lutkit-bleach-bypass hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -50 0)
      (gimp-drawable-curves-spline layer HISTOGRAM-VALUE 10
        #(0.0 0.0 0.2 0.12 0.5 0.5 0.8 0.88 1.0 1.0)))))
