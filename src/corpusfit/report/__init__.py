"""The run report: what the stages recorded (collect), its figures (plots) and the
Markdown/HTML pages (render)."""
