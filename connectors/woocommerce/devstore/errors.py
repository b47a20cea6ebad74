"""WordPress REST errors: {"code", "message", "data"} and the HTTP status WordPress derives.

WordPress takes the status from `data["status"]` when data is an array; WooCommerce sometimes
passes a bare integer as data (refunds: `new WP_Error(code, message, 500)`), and then the
response is HTTP 500 whatever the integer says, with `"data": <that integer>`.
"""
from __future__ import annotations


class RestError(Exception):
    def __init__(self, code: str, message: str, status: int | None = 400, data=None, *, bare_data=None,
                 headers: dict[str, str] | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message
        self.headers = headers or {}
        if bare_data is not None:  # WP_Error( code, message, <int> )
            self.data = bare_data
            self.status = 500
        else:
            self.data = {"status": status, **(data or {})} if status is not None else data
            self.status = status if status is not None else 500

    def body(self) -> dict:
        return {"code": self.code, "message": self.message, "data": self.data}


class StoreError(ValueError):
    """A store-manipulation call from a test that WooCommerce itself would refuse."""


def invalid_id(post_type: str, status: int = 404) -> RestError:
    return RestError(f"woocommerce_rest_{post_type}_invalid_id", "Invalid ID.", status)


def no_route() -> RestError:
    return RestError("rest_no_route", "No route was found matching the URL and request method.", 404)


def invalid_params(problems: dict[str, tuple[str, str]]) -> RestError:
    """rest_invalid_param: problems = {param: (detail code, message)}."""
    return RestError("rest_invalid_param", "Invalid parameter(s): " + ", ".join(problems), 400,
                     {"params": {name: message for name, (_, message) in problems.items()},
                      "details": {name: {"code": code, "message": message, "data": None}
                                  for name, (code, message) in problems.items()}})


def missing_params(names: list[str]) -> RestError:
    return RestError("rest_missing_callback_param", "Missing parameter(s): " + ", ".join(names), 400,
                     {"params": names})


# Messages of the permission callbacks, by the kind of action (wc_rest_check_*_permissions fails).
PERMISSION_ERRORS = {
    "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."),
}


def cannot(action: str) -> RestError:
    code, message = PERMISSION_ERRORS[action]
    # rest_authorization_required_code(): 401 for a visitor who is not logged in.
    return RestError(code, message, 401)
