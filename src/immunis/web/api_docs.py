"""The API's interactive documentation: Swagger UI at /docs, from the files vendored in
static/swagger/, so that it works on a network without the internet (docs/web.md)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER = "/static/swagger"


def install(app: FastAPI) -> None:
    """Serve Swagger UI for the app's OpenAPI document at /docs (the static files are mounted
    by the pages)."""

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        # Behind a proxy that strips a prefix, every URL the browser asks for needs it back.
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
            # No badge from swagger.io's online validator, which this network cannot reach.
            swagger_ui_parameters={"validatorUrl": None},
        )
