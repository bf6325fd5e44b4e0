;; Shared by every LUT script in this folder; `lutkit lut build-gimp` loads it first.
;;
;; (lutkit-hald-look HALD-IN HALD-OUT LOOK): load the identity Hald image HALD-IN,
;; convert it to 32-bit float with perceptual (sRGB) values so that no step in
;; between rounds, call (LOOK layer) to apply the colour tools, and export a 16-bit
;; PNG to HALD-OUT. Only global colour tools belong in LOOK: every pixel of a Hald
;; image is a lattice point, so nothing may crop, resize, blur or paint.
;;
;; To try a look by hand in GIMP 2.10 (Filters > Script-Fu > Console):
;;   (load "/path/to/luts/gimp/_hald.scm")
;;   (load "/path/to/luts/gimp/green-fluorescent.scm")
;;   (lutkit-green-fluorescent "identity.png" "green-fluorescent.png")
;; where identity.png comes from `lutkit lut identity --hald 8 -o identity.png`.

(define (lutkit-hald-look hald-in hald-out look)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE hald-in hald-in)))
         (layer (car (gimp-image-flatten image))))
    (gimp-image-convert-precision image PRECISION-FLOAT-GAMMA)
    (look layer)
    ;; LOOK may add layers (e.g. a toned copy at partial opacity): flatten them.
    (let ((result (car (gimp-image-flatten image))))
      ;; file-png-save2: no interlace, compression 1 (level 9 costs 1.5 s a LUT),
      ;; no bKGD/gAMA/oFFs/pHYs/tIME, no comment; float is written as 16-bit PNG.
      (file-png-save2 RUN-NONINTERACTIVE image result hald-out hald-out 0 1 0 0 0 0 0 0 0))
    (gimp-image-delete image)))
