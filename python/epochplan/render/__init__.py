"""How results are shown: terminal tables (audit, plan, check), plan text formats (JSON, YAML,
framework code), JUnit XML and GitHub Actions output for checks, the self-contained HTML report
(`html.render_html`) and the audit's Markdown headline (`markdown.render_markdown`). A new output
format is one module here; plan text formats register in `plan_text.RENDERERS`.

Submodules are imported where they are used, not here, so that showing one thing never loads the
code (or the optional dependencies) of another.
"""
