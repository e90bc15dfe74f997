// cairo's image and SVG surfaces (Debian: libcairo2-dev, found through pkg-config "cairo").
#include <cairo.h>
#include <cairo-svg.h>
