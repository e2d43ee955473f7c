"""The demo's tickets: a few dozen stories of a retail bank's help desk, in every state of the
support workflow, each told through the real services at the times it happened.

A story is who opened it, about what, how long ago, and its steps: minutes after opening,
a verb (a workflow event, or `reply`, `note`, `priority`, `sla_plan`), who does it (a cast
key, `requester` or `system`) and what they send. Steps run in order, so a story the
workflow would refuse fails the seed loudly instead of showing an impossible ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from workflow import services, ticket_settings
from workflow.models import OutboxMail, SlaPlan
from workflow.rules import Actor

if TYPE_CHECKING:
    from web.demo_seed import Cast

HOUR, DAY = 60, 24 * 60
L1, L2, SECURITY = "Level 1 Support", "Level 2 Support", "Fraud and Security"
PW, MOBILE, GENERAL = "Password reset", "Mobile banking", "General"


@dataclass(frozen=True)
class Step:
    after: int
    verb: str
    who: str
    params: dict[str, Any] = field(default_factory=dict)


def at(after: int, verb: str, who: str, **params: Any) -> Step:
    return Step(after, verb, who, params)


@dataclass(frozen=True)
class Story:
    customer: str
    topic: str
    subject: str
    body: str
    age: int
    """Minutes ago the ticket was opened."""
    steps: tuple[Step, ...] = ()


def _claim(who: str, after: int = 10) -> Step:
    return at(after, "claim", who)


def _ask(who: str, after: int, reply: str) -> Step:
    return at(after, "request_info", who, reply=reply)


def _resolve(who: str, after: int, first_name: str, fix: str) -> Step:
    return at(
        after,
        "resolve",
        who,
        reply=f"Hello {first_name}, {fix} Is there anything else we can help you with?",
    )


STORIES = (
    # Ages and steps keep most open tickets within their plan's targets when the seed runs
    # (SEV A: first response 30 min, resolution 4 h; SEV B: 2 h, 24 h; SEV C: 8 h, 5 days);
    # one is overdue on purpose, so the first sweep shows an escalation at once. Time runs
    # on while the demo runs: more will follow, as at any help desk.
    # ---- new: waiting in the intake queue ------------------------------------------------
    Story("ken", MOBILE, "Balance not updating in the app",
          "My balance in the app still shows yesterday's amount; online banking is right.", 12),
    Story("maria", PW, "Reset link says it has expired",
          "I clicked the reset link two minutes after it arrived and it says it expired.", 40),
    Story("tom", GENERAL, "How do I order a new debit card?",
          "My card is worn out and the chip no longer works at some shops.", 3 * HOUR),
    Story("priya", MOBILE, "Push notifications stopped after the update",  # overdue
          "Since the last app update I get no notifications for card payments.", 70),
    Story("lena", GENERAL, "Change of postal address",
          "I moved last week; where can I change my address for statements?", 6 * HOUR),
    Story("omar", PW, "Locked out after three wrong passwords",
          "I mistyped my password three times and now I cannot sign in at all.", 15),
    Story("karen", MOBILE, "A card payment I do not recognise",
          "The app shows a payment of 89.90 to an online shop I have never used.", 50,
          (_claim("isabella", 5),
           at(8, "reply", "isabella", body="Hello Karen, we blocked your card to be safe; our "
                                           "fraud team will call you today."),
           at(10, "transfer", "isabella", department=SECURITY,
              note="Possible card fraud: the customer does not recognise a payment; card "
                   "blocked, please investigate."))),
    Story("karen", GENERAL, "Question about the monthly account fee",
          "The fee went up this month; was there a letter about it?", 5 * HOUR),
    # ---- assigned ---------------------------------------------------------------------------
    Story("ken", MOBILE, "Face ID sign-in fails on my new phone",
          "The app asks for Face ID and then says it could not verify me.", 2 * HOUR,
          (_claim("isabella"),
           at(15, "reply", "isabella", body="Hello Ken, thank you; we are looking into it."))),
    Story("maria", MOBILE, "App crashes when I open statements",
          "Tapping Statements closes the app right away, every time.", 150,
          (_claim("isabella"),
           at(12, "reply", "isabella", body="Hello Maria, thank you; we can see the crash "
                                            "and our app specialists will look at it."),
           at(30, "transfer", "isabella", assignee="winston",
              note="Winston, the crash is reproducible on Android 14 with app 8.2; see the "
                   "crash report. Could you take it? Thanks!"))),
    Story("tom", PW, "Reset email goes to my old address",
          "The password reset mail goes to an address I no longer use.", 90,
          (_claim("isabella", 20), at(25, "sla_plan", "isabella", plan="SEV C"))),
    Story("priya", GENERAL, "Standing order shows the wrong date",
          "My rent standing order shows the 3rd instead of the 1st.", 6 * HOUR,
          (at(45, "assign", "isabella", team=L1),)),
    Story("omar", MOBILE, "Cannot add my card to Google Pay",
          "Google Pay says the card cannot be added; no reason given.", 100,
          (at(10, "reply", "isabella", body="Hello Omar, thank you; our specialists will "
                                            "check your card's settings."),
           at(25, "transfer", "isabella", team=L2,
              note="Tokenisation error, looks like the card profile; Level 2 please."))),
    Story("lena", PW, "Security questions not accepted",
          "I answer my security questions correctly and the reset still fails.", 5 * HOUR,
          (_claim("winston", 40),
           at(45, "reply", "winston", body="Hello Lena, we are checking your account."))),
    # ---- in progress ------------------------------------------------------------------------
    Story("karen", MOBILE, "Transfer stuck as pending",
          "A transfer to my landlord has shown 'pending' in the app since yesterday.", 3 * HOUR,
          (_claim("isabella", 15), at(20, "start", "isabella"),
           at(25, "reply", "isabella", body="Hello Karen, we are checking the payment with our "
                                            "payments team and will write again today."))),
    Story("ken", PW, "New password rejected as too weak",
          "Every password I try is called too weak, even long ones.", 3 * HOUR,
          (_claim("isabella"), at(15, "start", "isabella"),
           at(20, "reply", "isabella", body="Hello Ken, we are looking at the password "
                                            "rules on your account."))),
    Story("tom", MOBILE, "App shows a blank screen on Android",
          "After the splash screen the app stays white.", 150,
          (_claim("winston", 10), at(15, "start", "winston"),
           at(20, "reply", "winston", body="Hello Tom, we know this one; a fix is on its way."),
           at(60, "note", "winston", body="Same as the 8.2 rendering bug; fix is in the 8.3 "
                                          "release candidate."))),
    Story("maria", GENERAL, "Interest missing from savings statement",
          "The quarterly interest is not on my savings statement.", 2 * DAY,
          (_claim("isabella", 30),
           _ask("isabella", 40, "Hello Maria, which savings account is it (the last four "
                                "digits are enough)? Thank you."),
           at(6 * HOUR, "reply", "requester", body="It is the account ending in 4411."),
           at(7 * HOUR, "reply", "isabella", body="Thank you, Maria; we are checking it with "
                                                  "the savings team."))),
    Story("priya", MOBILE, "Two-factor codes arrive late",
          "The SMS codes arrive after they have already expired.", 2 * HOUR,
          (_claim("winston", 10),
           at(15, "reply", "winston", body="Hello Priya, we are checking with our SMS "
                                           "provider."),
           at(20, "start", "winston"))),
    Story("omar", GENERAL, "CSV export uses the wrong decimal separator",
          "Amounts in the CSV export use commas, so my spreadsheet reads them as text.", DAY,
          (_claim("isabella", 60), at(70, "start", "isabella"),
           at(80, "priority", "isabella", priority=2),
           at(90, "reply", "isabella", body="Hello Omar, thank you; we can reproduce it."))),
    # ---- awaiting the customer ------------------------------------------------------------
    Story("karen", MOBILE, "Fingerprint sign-in greyed out",
          "The fingerprint option in the app settings is greyed out.", 6 * HOUR,
          (_claim("isabella"),
           _ask("isabella", 20, "Hello Karen, which phone and app version do you use? You "
                                "find the version under Settings, About. Thank you."))),
    Story("lena", MOBILE, "Payment to a new payee declined",
          "The app declines a payment to a new payee without a reason.", 9 * HOUR,
          (_claim("winston", 10), at(15, "start", "winston"),
           _ask("winston", 25, "Hello Lena, did the app ask you to confirm the payee with a "
                               "code? Please tell us what you saw. Thank you."))),
    Story("tom", GENERAL, "I need a bank reference letter",
          "My new landlord asks for a reference letter from my bank.", 2 * DAY,
          (_claim("isabella", 45),
           _ask("isabella", 60, "Hello Tom, should the letter be in English or German, and "
                                "to whom should it be addressed? Thank you."))),
    Story("ken", PW, "Password reset SMS never arrives",
          "I asked for the reset code three times and no SMS came.", 7 * HOUR,
          (_claim("isabella", 10),
           _ask("isabella", 25, "Hello Ken, is the phone number ending in 27 still yours? "
                                "Thank you."))),
    Story("omar", MOBILE, "Cheque deposit photo rejected",
          "The app says my cheque photo is unreadable, though it is sharp.", DAY,
          (_claim("winston", 10),
           _ask("winston", 20, "Hello Omar, could you try once more on a dark, plain "
                               "background and tell us the exact message? Thank you."))),
    # ---- resolved, waiting for the customer's confirmation --------------------------------
    Story("maria", PW, "Forgot my password",
          "I cannot remember my password and the app wants it.", 20 * HOUR,
          (_claim("isabella", 10),
           _resolve("isabella", 30, "Maria", "we sent you a fresh reset link that stays "
                                             "valid for an hour."))),
    Story("priya", GENERAL, "Stop sending paper statements",
          "Please stop the paper statements; I read them online.", 2 * DAY,
          (_claim("isabella", 60), at(70, "start", "isabella"),
           _resolve("isabella", 90, "Priya", "paper statements are switched off from next "
                                             "month."))),
    Story("ken", MOBILE, "App asks to update every day",
          "Every morning the app says there is an update, even after updating.", 3 * DAY,
          (_claim("winston", 15), at(20, "start", "winston"),
           _resolve("winston", 3 * HOUR, "Ken", "version 8.2.1 fixes the update prompt."),
           at(DAY, "confirm", "requester"))),
    Story("lena", PW, "Forgot my username",
          "I do not remember the username I chose when I opened the account.", 10 * HOUR,
          (_claim("isabella", 15),
           _resolve("isabella", 40, "Lena", "your username is in the letter we just sent."))),
    # ---- closed -----------------------------------------------------------------------------
    Story("karen", PW, "Cannot reset my password from abroad",
          "I am travelling and the reset code never reaches my phone.", 4 * DAY,
          (_claim("isabella", 20),
           _resolve("isabella", 2 * HOUR, "Karen", "we switched your codes to email while "
                                                   "you travel."),
           at(5 * HOUR, "confirm", "requester"), at(6 * HOUR, "close", "isabella"))),
    Story("tom", MOBILE, "Sign-in loop after the app update",
          "After signing in the app sends me back to the sign-in screen.", 5 * DAY,
          (_claim("winston", 10), at(15, "start", "winston"),
           _resolve("winston", 25, "Tom", "clearing the app's cache ends the loop; 8.2.1 "
                                          "fixes it for good."),
           at(DAY, "confirm", "requester"), at(DAY + 30, "close", "winston"))),
    Story("omar", GENERAL, "Card order (sent twice)",
          "I would like to order a new card. (Sent twice by mistake.)", 3 * DAY,
          (at(2 * HOUR, "discard", "admin", note="Duplicate of Omar's other card order."),)),
    Story("priya", MOBILE, "Statement download fails",
          "Downloading a PDF statement ends with an error.", 12 * DAY,
          (_claim("winston", 10),
           _resolve("winston", 25, "Priya", "the statement service is fixed."),
           at(11 * DAY, "auto_close", "system"))),
    Story("maria", GENERAL, "Branch opening hours over the holidays",
          "Is the city centre branch open between Christmas and New Year?", 6 * DAY,
          (_claim("isabella", 60),
           _resolve("isabella", 90, "Maria", "the branch is open on the 27th and 30th, "
                                             "9:00 to 13:00."),
           at(4 * HOUR, "confirm", "requester"), at(5 * HOUR, "close", "isabella"))),
)  # fmt: skip


def seed(session: Session, cast: Cast, now: datetime) -> None:
    """Open and move every story's ticket through the services. Commits per step."""
    actors = {key: services.actor_for(user) for key, user in cast.people.items()}
    seeded = []
    for story in STORIES:
        opened = now - timedelta(minutes=story.age)
        requester = actors[story.customer]
        ticket_id = services.open_ticket(
            session,
            requester_id=requester.id,
            help_topic_id=cast.topics[story.topic].id,
            subject=story.subject,
            body=story.body,
            actor=requester,
            now=opened,
        ).ticket.id
        seeded.append(ticket_id)
        for step in story.steps:
            who = {"requester": requester, "system": Actor.system()}.get(step.who)
            _run(session, cast, ticket_id, step, who or actors[step.who], opened)
    # The stories are history, told rather than lived: nobody is mailed about them (their
    # notices' outbox rows would otherwise all go out with the worker's first sweep).
    session.execute(
        update(OutboxMail)
        .where(OutboxMail.ticket_id.in_(seeded), OutboxMail.sent_at.is_(None))
        .values(sent_at=now)
    )
    session.commit()


def _run(
    session: Session, cast: Cast, ticket_id: int, step: Step, actor: Actor, opened: datetime
) -> None:
    when = opened + timedelta(minutes=step.after)
    params = dict(step.params)
    if step.verb in ("reply", "note"):
        verb = services.reply if step.verb == "reply" else services.add_note
        verb(session, ticket_id, actor, when, params["body"])
    elif step.verb == "priority":
        ticket_settings.change_priority(session, ticket_id, params["priority"], actor, when)
    elif step.verb == "sla_plan":
        plan = session.scalar(select(SlaPlan.id).where(SlaPlan.name == params["plan"]))
        ticket_settings.change_sla_plan(session, ticket_id, plan, actor, when)
    else:
        if "assignee" in params:
            params["assignee_id"] = cast.people[params.pop("assignee")].id
        if "team" in params:
            params["team_id"] = cast.teams[params.pop("team")].id
        if "department" in params:
            params["department_id"] = cast.departments[params.pop("department")].id
        services.apply_event(session, ticket_id, step.verb, actor, when, **params)
