"""Server-rendered pages (Jinja2 + Plotly) over the same services as the API and the CLI."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from supplyshock.web.common import STATIC_DIR, plotly_js_path

PLOTLY_URL = "/assets/plotly.min.js"


def install(app: FastAPI) -> None:
    """Add the web pages, their static files and plotly.js (from the plotly package) to ``app``."""
    from supplyshock.web.analysis_pages import router as analysis_router
    from supplyshock.web.exchange_pages import router as exchange_router
    from supplyshock.web.registry_pages import router as registry_router

    @app.get(PLOTLY_URL, include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(analysis_router)
    app.include_router(exchange_router)
    app.include_router(registry_router)
