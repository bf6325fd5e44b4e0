;; description: Nearly grey: saturation reduced by 75 %, only a hint of colour left
;; tags: colourist, desaturated, strong
(define (lutkit-desaturated-strong hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-hue-saturation layer HUE-RANGE-ALL 0 0 -75 0))))
