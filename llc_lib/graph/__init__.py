"""The run graph: content-keyed specs (``spec``), the profile's plan of specs (``plan``), ``Workspace.fit``
(``workspace``), data selections and sources, the committed weights. Imports the layers below it."""
