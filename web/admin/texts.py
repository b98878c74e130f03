"""Invite people to a round by text message from the workbench: paste numbers, send.

Thin: ``surveys.services.texting`` starts the conversations and decides what waits (quiet
hours) and ``deliver`` sends. Numbers pasted here are used to send and then kept only as
keyed hashes; they are never shown back, logged or stored in clear.
"""

from __future__ import annotations

import logging
import re

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from surveys.core import sms_text
from surveys.core.engine import default_texts
from surveys.notify import sms as outbound
from surveys.services import invites, texting
from web import db, runtime
from web.admin import bp
from web.admin.access import LEAD, roles_required, round_or_404
from web.transactions import transaction

log = logging.getLogger("yjvoice.admin")
_SPLIT = re.compile(r"[\n,;]+")
MAX_PASTE = 40_000  # characters: about 500 numbers with room for spaces


@bp.route("/rounds/<code>/texts", methods=["GET", "POST"])
@roles_required(LEAD)
def sms_invite(code: str) -> ResponseReturnValue:
    """Show the text-message invitation for a round, and send it to pasted numbers (POST)."""
    rnd = round_or_404(code)
    rt = runtime()
    here = url_for("admin.sms_invite", code=rnd.code)
    if request.method == "POST":
        audience = request.form.get("audience", "")
        raw = (request.form.get("numbers") or "")[:MAX_PASTE]
        numbers = [n for n in (x.strip() for x in _SPLIT.split(raw)) if n]
        if not rt.settings.sms.enabled:
            flash("Text messages are not set up (SMS_PROVIDER).", "error")
            return redirect(here, 303)
        if not numbers:
            flash("Paste at least one phone number.", "error")
            return redirect(here, 303)
        try:
            with transaction() as session:
                result = texting.invite(
                    session,
                    rt.context,
                    rt.settings.sms,
                    code=rnd.code,
                    audience=audience,
                    numbers=numbers,
                    actor=current_user,
                )
        except texting.InviteError as exc:
            flash(f"{str(exc)[:1].upper()}{str(exc)[1:]}.", "error")
            return redirect(here, 303)
        from web.hooks import sms_sender

        done = outbound.deliver(rt.transaction, sms_sender(), result.texts, rt.settings.sms)
        parts = [f"Invitations sent: {done.sent}."]
        if done.queued:
            parts.append(f"{done.queued} will be sent after quiet hours or a retry.")
        if result.invalid:
            lines = ", ".join(map(str, result.invalid[:20]))
            parts.append(f"Not phone numbers (lines or items {lines}).")
        if result.duplicates:
            parts.append(f"{result.duplicates} repeated.")
        if result.suppressed:
            parts.append(f"{result.suppressed} opted out (texted STOP), not sent.")
        if done.dropped:
            parts.append(f"{done.dropped} could not be sent.")
        log.info("sms invite round=%s sent=%d by=%s", rnd.id, done.sent, current_user.user_id)
        flash(" ".join(parts), "success" if done.sent or done.queued else "info")
        return redirect(here, 303)
    previews = []
    for aud in rnd.audiences:
        text = default_texts().get("sms_invite", aud, minutes=5)
        previews.append((aud, invites.AUDIENCE_NAMES[aud], text, sms_text.count(text)))
    return render_template(
        "admin/invites/texts.html",
        rnd=rnd,
        enabled=rt.settings.sms.enabled,
        number=rt.settings.sms.number,
        previews=previews,
        waiting=outbound.waiting(db(), rnd.id),
        can_send=current_user.role == LEAD,
    )
