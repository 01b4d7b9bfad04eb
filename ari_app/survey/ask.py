"""Asking a caller for a rating on the phone: the question, keys pressed during or after it (a key
cuts the question short), one repeat, thanks or goodbye. The caller's DTMF reaches the call's
session like every event of its channel."""

from __future__ import annotations

from ari_app.ari.errors import AriError, AriNotFound
from ari_app.ari.events import ChannelDtmfReceived, PlaybackEvent
from ari_app.calls.legs import new_playback
from ari_app.calls.session import CallerGone, CallSession, Message
from ari_app.flows.common import FlowContext, play, record
from ari_app.logs import get_logger
from ari_app.survey.keys import AskAgain, NoRating, Rated, SurveyPolicy, after_answer

log = get_logger("survey")

THANKS = "rating-thanks"
GOODBYE = "goodbye"
QUESTION_LIMIT = 60.0  # seconds: a question that plays longer than this is a fault


async def ask_rating(ctx: FlowContext, session: CallSession, question: str, policy: SurveyPolicy) -> str | None:
    """Ask ``question`` until a rating comes or the attempts are spent: the rating, or None.
    CallerGone if the caller hangs up (then there is no rating either)."""
    try:
        return await _ask(ctx, session, question, policy)
    except AriNotFound:  # the channel went while a prompt was being started: the caller hung up
        raise CallerGone(session.call_id) from None


async def _ask(ctx: FlowContext, session: CallSession, question: str, policy: SurveyPolicy) -> str | None:
    attempt = 1
    while True:
        key = await _one_question(ctx, session, question, policy.answer_seconds)
        step = after_answer(key, attempt, policy)
        await record(ctx.calls.event(session.call_id, "survey_answer", attempt=attempt, key=key or ""))
        if isinstance(step, Rated):
            await play(ctx, session, [THANKS])
            return step.rating
        if isinstance(step, NoRating):
            log.info("survey_unanswered", reason=step.reason)
            await play(ctx, session, [GOODBYE])
            return None
        assert isinstance(step, AskAgain)
        attempt = step.attempt


async def _one_question(ctx: FlowContext, session: CallSession, question: str, answer_seconds: float) -> str | None:
    """Play the question and return the first key the caller presses during it or within
    ``answer_seconds`` after it (None when none)."""
    caller = session.channel.id
    playback = new_playback()
    await ctx.ari.play(caller, f"sound:{question}", playback)

    def key_or_end(m: Message) -> bool:
        if isinstance(m, ChannelDtmfReceived):
            return m.channel_id == caller
        return (isinstance(m, PlaybackEvent) and m.playback_id == playback
                and m.type in ("PlaybackFinished", "PlaybackFailed"))

    first = await session.wait_for(key_or_end, QUESTION_LIMIT)
    if isinstance(first, ChannelDtmfReceived):
        try:
            await ctx.ari.stop_playback(playback)  # barge-in: the caller need not hear the rest
        except AriError:
            pass  # it had just ended
        return first.digit
    after = await session.wait_for(
        lambda m: isinstance(m, ChannelDtmfReceived) and m.channel_id == caller, answer_seconds)
    return after.digit if isinstance(after, ChannelDtmfReceived) else None
