;; description: A cyan cast, as under mixed daylight and cool LED panels or from a mis-set white balance
;; tags: lighting, cast, cyan
(define (lutkit-cyan-cast hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (gimp-drawable-color-balance layer TRANSFER-SHADOWS TRUE -8 2 4)
      (gimp-drawable-color-balance layer TRANSFER-MIDTONES TRUE -20 4 8)
      (gimp-drawable-color-balance layer TRANSFER-HIGHLIGHTS TRUE -8 2 4))))
