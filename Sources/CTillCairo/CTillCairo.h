#ifndef C_TILL_CAIRO_H
#define C_TILL_CAIRO_H

// Cairo draws the PDF and PNG pages; Pango shapes and measures their text (through
// HarfBuzz and fontconfig, so Japanese falls back to an installed CJK font).
#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#endif
