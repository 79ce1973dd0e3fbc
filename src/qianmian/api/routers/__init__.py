"""HTTP routers; each module exposes `router` and is listed in `qianmian.api.app.ROUTERS`."""
