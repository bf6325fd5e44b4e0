;; description: Washed-out colour: saturation reduced by 40 %, as from haze or a flat camera profile
;; tags: colourist, desaturated
(define (lutkit-desaturated hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -40 0))))
