"""A round's invitation kit per audience: links, QR codes (PNG, SVG), poster, text message.

Thin: ``surveys.services.invites`` makes every text and image; this module finds the round, checks
the audience belongs to it, and serves the results.
"""

from __future__ import annotations

from flask import Response, abort, render_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from surveys.services import invites
from surveys.storage import store
from surveys.storage.models import Round
from web import runtime
from web.admin import bp
from web.admin.access import READERS, roles_required, round_or_404


def _kit(code: str, audience: str) -> tuple[Round, invites.Kit]:
    rnd = round_or_404(code)
    if audience not in rnd.audiences:
        abort(404)
    rt = runtime()
    kit = invites.build_kit(
        code=rnd.code,
        title=rnd.title,
        audience=audience,
        base_url=rt.settings.public_base_url,
        bot_username=rt.settings.telegram_bot_username,
        question_count=len(rt.catalogue.questions_for(rnd.priorities, audience)),
        closes_on=rnd.closes_on,
        languages=rnd.languages,
        texts=rt.texts,
    )
    return rnd, kit


def _qr_markup(kit: invites.Kit, size: str | None = None) -> Markup:
    # Our own SVG: numbers and an XML-escaped link only, so it is safe to embed as is.
    svg = invites.qr_svg(kit.web_url, label=f"QR code for {kit.web_url}", size=size)
    return Markup(svg)  # noqa: S704


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/rounds/<code>/invite/<audience>")
@roles_required(*READERS)
def invite_kit(code: str, audience: str) -> ResponseReturnValue:
    """Show one audience's invitation kit: links, QR code, text message, poster."""
    rnd, kit = _kit(code, audience)
    return render_template(
        "admin/invites/kit.html",
        rnd=rnd,
        kit=kit,
        qr=_qr_markup(kit, size="240"),
        taking_answers=store.is_open(rnd),
        sms_limit=invites.SMS_LIMIT,
        telegram_note=invites.TELEGRAM_AGE_NOTE,
        bot_username=runtime().settings.telegram_bot_username,
    )


@bp.route("/rounds/<code>/invite/<audience>/qr.png")
@roles_required(*READERS)
def invite_qr_png(code: str, audience: str) -> ResponseReturnValue:
    """Download the QR code of the audience's web link as PNG."""
    rnd, kit = _kit(code, audience)
    return _download(
        invites.qr_png(kit.web_url), "image/png", f"yjvoice-{rnd.code}-{audience}-qr.png"
    )


@bp.route("/rounds/<code>/invite/<audience>/qr.svg")
@roles_required(*READERS)
def invite_qr_svg(code: str, audience: str) -> ResponseReturnValue:
    """Download the QR code of the audience's web link as SVG (sharp at any size)."""
    rnd, kit = _kit(code, audience)
    svg = '<?xml version="1.0" encoding="UTF-8"?>\n' + invites.qr_svg(kit.web_url, size="60mm")
    return _download(svg.encode(), "image/svg+xml", f"yjvoice-{rnd.code}-{audience}-qr.svg")


@bp.route("/rounds/<code>/invite/<audience>/poster")
@roles_required(*READERS)
def invite_poster(code: str, audience: str) -> ResponseReturnValue:
    """Show the printable A4 poster for an audience (print it from the browser)."""
    rnd, kit = _kit(code, audience)
    return render_template(
        "admin/invites/poster.html",
        rnd=rnd,
        kit=kit,
        qr=_qr_markup(kit),
        bot_username=runtime().settings.telegram_bot_username,
    )
