"""The communication baseline: a reviewable graph (networkx) of who talks to whom and how,
learned from captures, saved as versioned JSON and enforced by the detection stage."""
