"""The OpenAPI document and the blueprints it describes: flask-smorest's `Api`, bound in `server.create_app`."""
from flask_smorest import Api


class GridpatrolApi(Api):
    """flask-smorest's Api (its ERROR_SCHEMA, our one error shape, is set by create_app); the OpenAPI
    document of each blueprint is built when the spec is first read, not at every `create_app` (building
    it takes most of an app's start-up, which every test and every worker process pays)."""

    @property
    def spec(self):
        pending, self._pending_docs = getattr(self, "_pending_docs", []), []
        for blp, name, parameters in pending:
            blp.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
            self._spec.tag({"name": name, "description": blp.description})
        return self._spec

    @spec.setter
    def spec(self, value):
        self._spec = value
        self._pending_docs = []

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._pending_docs.append((blp, name, parameters))


api = GridpatrolApi()
