"""The Markdown (case study) view."""
