"""Applications built on the library: training and evaluation runners, the demo, the EDA and the command line."""
