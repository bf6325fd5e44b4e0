;; description: An old colour print toned brown: a sepia wash over faded colour, lifted blacks
;; tags: film, fade, sepia, brown
(define (lutkit-sepia-print hald-in hald-out)
  (lutkit-hald-look hald-in hald-out
    (lambda (layer)
      (let* ((image (car (gimp-item-get-image layer)))
             (tone (car (gimp-layer-copy layer FALSE))))
        (gimp-image-insert-layer image tone 0 -1)
        (gimp-drawable-colorize-hsl tone 35 35 0)
        (gimp-layer-set-opacity tone 55)
        (gimp-drawable-levels layer HISTOGRAM-VALUE 0.0 1.0 TRUE 1.0 0.06 0.95 TRUE)
        (gimp-drawable-levels tone HISTOGRAM-VALUE 0.0 1.0 TRUE 1.0 0.06 0.95 TRUE)
        (gimp-image-merge-down image tone EXPAND-AS-NECESSARY)))))
