"""The publisher's side: put a pack's case studies on the community site and the pack
and its catalogue where readers fetch them (``casebook publish``, docs/publishing.md).

``run.publish`` does the work over small parts: ``posts`` (one WordPress post per case
study, found again by a marker in its content), ``folder`` and ``media`` (where the
``.cbpack`` and ``catalogue.json`` go), ``lock`` (the post ids and what was published,
kept beside ``pack.toml``) and ``plan`` (what a run would change or changed). Every
step can be repeated: a run cut off anywhere is completed by the next one.
"""
