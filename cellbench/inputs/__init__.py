"""Model inputs built causally per frame (frames <= t only): radius graphs, node and edge features, batching."""
