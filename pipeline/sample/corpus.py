"""Bundled sample corpus for tests, demos and documentation.

All text in this module is original and was written specifically for this project; it is not
copied or adapted from any website, book or other dataset. People, places, organisations and
events mentioned here are fictional unless they are common knowledge. License: same as the
project, Apache-2.0.

The corpus mimics what a WebText-style crawler encounters: good long-form English prose
(``kind="article"``), well-written pages in other languages (``"foreign"``), encyclopedia-style
entries (``"wikipedia"``), low-quality keyword spam (``"spam"``) and near-empty pages
(``"thin"``). The boilerplate collections (navigation labels, cookie banners, footers, reader
comments and related-story teasers) can be mixed into synthetic HTML pages to exercise
boilerplate removal.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ARTICLES",
    "COMMENTS",
    "COOKIE_BANNERS",
    "FOOTERS",
    "NAV_LINKS",
    "RELATED_HEADLINES",
    "Article",
]


@dataclass(frozen=True, slots=True)
class Article:
    """One sample page: metadata plus its body text split into paragraphs."""

    slug: str  # url-safe, lower-case, hyphens, unique across the module
    title: str
    language: str  # ISO 639-1 code, e.g. "en", "de"
    kind: str  # one of: "article", "foreign", "wikipedia", "spam", "thin"
    paragraphs: tuple[str, ...]


ARTICLES: tuple[Article, ...] = (
    # --- article: Long-form English prose of the kind the corpus should keep.
    Article(
        slug="urban-beekeeping-on-the-roof",
        title="The Bees on the Fourth Floor",
        language="en",
        kind="article",
        paragraphs=(
            (
                "When Marguerite Osei first carried a wooden hive up the fire escape of her apartment "
                "building, her neighbours assumed she had lost her mind. Three summers later, the same "
                "neighbours queue at her door every September for jars of dark, faintly minty honey that "
                "tastes of the linden trees lining the avenue below. Rooftop beekeeping has quietly become "
                "one of the more surprising hobbies in dense cities, and the people who practise it tend to "
                "talk about it with the slightly dazed enthusiasm of recent converts."
            ),
            (
                "The appeal is partly practical. Cities, it turns out, are not bad places for bees. Parks, "
                "balcony planters, cemetery lawns and the scrappy weeds growing along railway embankments "
                "offer a patchwork of flowers that blooms in sequence from early spring to late autumn. "
                "Pesticide use in urban gardens is often lower than on intensive farmland, and the warmth "
                "radiating from brick and concrete can extend the foraging season by a week or two at either "
                "end."
            ),
            (
                "None of this means the work is easy. A healthy colony in midsummer can hold fifty thousand "
                "insects, and they need space, water and regular inspection. Osei opens her hives every nine "
                "days between May and July, looking for signs of swarming, disease or a failing queen. She "
                "keeps a shallow dish of pebbles and water on the roof so that her bees do not go searching "
                "for a drink in the neighbours' air-conditioning drip trays, a lesson she learned after one "
                "memorable complaint."
            ),
            (
                "Local rules vary widely. Some councils require hives to be registered, others limit how "
                "many colonies may be kept on a single property, and a few still ban the practice outright. "
                "Experienced keepers recommend talking to the building owner and the people next door before "
                "the first box arrives. A friendly conversation, and the promise of a jar or two, tends to "
                "dissolve most objections before they harden."
            ),
            (
                "There is also a growing debate about whether cities can support unlimited numbers of "
                "honeybees. Wild bees, hoverflies and other pollinators compete for the same flowers, and in "
                "a few neighbourhoods the density of hobby hives has begun to worry ecologists. Osei takes "
                "the point seriously. This year she planted a long trough of lavender, borage and native "
                "asters, reasoning that anyone who keeps bees ought to feed more than just their own."
            ),
        ),
    ),
    Article(
        slug="restoring-a-three-speed-bicycle",
        title="What a Rusty Three-Speed Taught Me About Patience",
        language="en",
        kind="article",
        paragraphs=(
            (
                "The bicycle arrived in the back of a neighbour's van, wrapped in an old curtain and "
                "smelling faintly of engine oil and damp cardboard. It was a 1970s three-speed roadster, "
                "bottle green under a thick crust of grime, with a cracked leather saddle and tyres that had "
                "long since turned into something resembling liquorice. The neighbour was clearing out his "
                "late father's garage and asked whether I wanted it before it went to the tip. I said yes "
                "before I had really thought about it."
            ),
            (
                "Restoration, I quickly discovered, is mostly an exercise in taking things apart without "
                "breaking them. Every bolt on that frame had fused itself to its neighbour over forty years "
                "of standing in a shed. I learned to soak stubborn threads in penetrating oil overnight, to "
                "tap gently rather than wrench, and to photograph each assembly before dismantling it, "
                "because memory is a poor guide when a hub has just spilled thirty tiny ball bearings across "
                "the kitchen floor."
            ),
            (
                "The frame itself was sound. Once the surface rust had been scrubbed away with fine steel "
                "wool and a little paraffin, most of the original paint survived, faded but honest. I "
                "decided against a full respray. There is something pleasing about a machine that shows its "
                "age, and the small scratches near the kickstand told their own story about decades of being "
                "leaned against garden walls."
            ),
            (
                "The internal gear hub was the part I feared most. It looked like a sealed mystery, and "
                "online forums were full of warnings about springs that leap out and vanish forever. In the "
                "end it needed only a thorough clean, fresh grease and a new gear cable. When I turned the "
                "pedals by hand and heard the soft, clicking change from first to second to third, I felt a "
                "ridiculous surge of pride."
            ),
            (
                "New tyres, brake blocks and a secondhand saddle brought the total cost to a little under "
                "the price of a cheap modern bike from a supermarket. The difference is that this one will "
                "probably outlast me. It is heavy, slow on hills and entirely unsuited to racing, yet every "
                "time I ride it to the market I am reminded that most things are worth more than we assume, "
                "if someone is willing to spend a few slow evenings finding out."
            ),
        ),
    ),
    Article(
        slug="carrow-point-lighthouse-history",
        title="The Long Watch at Carrow Point",
        language="en",
        kind="article",
        paragraphs=(
            (
                "For almost a century and a half, the light at Carrow Point has swept the same stretch of "
                "grey water where the northern shipping lane bends around a shelf of half-submerged rock. "
                "Sailors once called that shelf the Teeth, and the name was earned. Between 1820 and 1860, "
                "at least nineteen vessels were lost there, most of them small coastal traders carrying "
                "coal, timber or salted fish."
            ),
            (
                "The tower was finally completed in 1874 after a long campaign by merchants in the nearby "
                "harbour town of Bellhaven, who were tired of paying for cargo that ended up on the seabed. "
                "Built from pale granite hauled by cart from an inland quarry, it rises just over thirty "
                "metres above the cliff. Its original lamp burned colza oil, and the keepers who tended it "
                "had to carry fuel up one hundred and twelve narrow steps several times a night during the "
                "winter months."
            ),
            (
                "Life at the station was lonely and strictly regulated. Logbooks preserved in the town "
                "museum record the weather every four hours, the passage of ships and occasional small "
                "dramas: a keeper's daughter born during a January gale, a seal that wandered into the "
                "storeroom, a cracked lens prism replaced after a hailstorm in 1911. The entries are terse, "
                "but read together they give a vivid picture of families living on the very edge of the "
                "land, dependent on supply boats that sometimes failed to arrive for weeks."
            ),
            (
                "Electricity reached Carrow Point in 1952, and the light was fully automated in 1987, when "
                "the last resident keeper, a quiet man named Tomas Reddick, handed over the keys and moved "
                "into a cottage in Bellhaven. He reportedly kept the habit of waking at two in the morning "
                "for the rest of his life, looking out of his window to make sure the beam was still turning."
            ),
            (
                "Today the tower is maintained by a volunteer trust that opens it to visitors on summer "
                "weekends. The climb is still steep, and the view from the gallery still takes the breath "
                "away. On clear nights the light continues its patient rotation, a reminder that some of the "
                "most important work in the world consists simply of staying in place and keeping watch."
            ),
        ),
    ),
    Article(
        slug="learning-rust-three-months-in",
        title="Three Months With Rust: Notes From a Reluctant Convert",
        language="en",
        kind="article",
        paragraphs=(
            (
                "I started learning Rust in January mostly out of stubbornness. Colleagues kept mentioning "
                "it in meetings, usually with the faraway look people get when describing a difficult but "
                "rewarding holiday, and I wanted to understand what the fuss was about. After twenty years "
                "of writing Python and a little C, I assumed I would pick it up in a couple of weekends. "
                "That assumption did not survive the first evening."
            ),
            (
                "The famous obstacle is the borrow checker, the part of the compiler that tracks who owns "
                "each piece of data and for how long. In my first week it rejected almost everything I "
                "wrote. The error messages were polite and often genuinely helpful, yet being told again and "
                "again that a value did not live long enough began to feel personal. I spent one entire "
                "Saturday trying to build a simple linked list before discovering that this is a well-known "
                "trap for beginners and that experienced programmers mostly avoid it."
            ),
            (
                "Somewhere around the fourth week, something shifted. I stopped fighting the compiler and "
                "started treating it as a demanding but fair reviewer. Programs that compiled tended to "
                "simply work, which is not a sentence I have ever been able to write about my C code. "
                "Refactoring became less frightening, because the type system pointed out every place I had "
                "forgotten to update."
            ),
            (
                "The tooling deserves its reputation. The package manager builds, tests and documents "
                "projects with a handful of short commands, and the formatter ends arguments about style "
                "before they begin. The official book is clear and patient, though I found I learned more by "
                "porting a small command-line utility of my own than by reading chapters in order."
            ),
            (
                "There are real downsides. Compile times on larger projects can be long, asynchronous "
                "programming still feels complicated, and some libraries change faster than their "
                "documentation. For quick data analysis or throwaway scripts I still reach for Python "
                "without hesitation."
            ),
            (
                "Would I recommend it? For anyone who writes software that must be fast, reliable and "
                "maintained for years, yes, with the warning that the first month is humbling. The language "
                "asks you to think carefully about things you previously ignored. That is uncomfortable, and "
                "it is also, I suspect, exactly the point."
            ),
        ),
    ),
    Article(
        slug="reviving-a-sourdough-starter",
        title="Keeping a Sourdough Starter Alive Through a Busy Winter",
        language="en",
        kind="article",
        paragraphs=(
            (
                "Every sourdough baker eventually faces the same small crisis: the jar at the back of the "
                "fridge, forgotten for three weeks, with a layer of grey liquid on top and a smell somewhere "
                "between nail varnish and old cheese. The good news is that a neglected starter is almost "
                "always recoverable. The yeast and bacteria living in that humble paste of flour and water "
                "are far tougher than their reputation suggests."
            ),
            (
                "Revival begins by pouring off the liquid, which bakers call hooch, and discarding all but a "
                "spoonful of the starter. Mix that spoonful with equal weights of fresh flour and lukewarm "
                "water, cover it loosely and leave it somewhere warm. Within a day or two, if all goes well, "
                "bubbles will appear and the sour, boozy smell will soften into something closer to yoghurt. "
                "Two or three feedings usually bring it back to full strength."
            ),
            (
                "Flour choice matters more than many beginners expect. Whole wheat and rye contain more of "
                "the nutrients wild yeast enjoys, so a handful mixed into the feed tends to wake a sluggish "
                "culture faster than white flour alone. Chlorinated tap water can also slow things down; "
                "leaving a jug on the counter overnight lets some of the chlorine escape."
            ),
            (
                "Once the starter is lively again, the bread itself is a matter of time rather than effort. "
                "A typical loaf needs only flour, water, salt and starter, but the dough may rest for twelve "
                "hours or more while fermentation does its slow work. Folding it gently every half hour "
                "during the first couple of hours builds strength without any kneading at all. A long, cool "
                "rise in the fridge overnight deepens the flavour and makes the dough easier to shape."
            ),
            (
                "Baking in a heavy lidded pot traps steam during the first part of the bake, giving the loaf "
                "room to expand before the crust sets. The result, after forty minutes or so, should be a "
                "loaf that crackles softly as it cools on the rack. Resist cutting it immediately, however "
                "tempting the smell. The crumb is still setting, and patience at this final stage is "
                "rewarded with a cleaner slice and a far better texture."
            ),
        ),
    ),
    Article(
        slug="harlow-cross-library",
        title="The Library That Refused to Close",
        language="en",
        kind="article",
        paragraphs=(
            (
                "When the county announced budget cuts six years ago, the little brick library on Mill "
                "Street in the town of Harlow Cross was at the top of the list. It opened only three "
                "afternoons a week, its carpet was worn through in places, and its newest computer dated "
                "from an era when monitors were still the size of microwave ovens. On paper, closing it made "
                "perfect sense."
            ),
            (
                "The town disagreed. Within a month, a group of residents had formed a friends' association, "
                "and within a year they had negotiated an arrangement that kept the doors open with a mix of "
                "county money, small donations and an army of volunteers. Retired teachers ran homework "
                "clubs. A former accountant helped older residents fill in tax forms. Teenagers who needed "
                "community service hours reshelved books and, somewhat to their own surprise, started "
                "borrowing them."
            ),
            (
                "The head librarian, Ines Kovacs, is the only full-time paid employee. She describes her "
                "role as part curator, part social worker and part handyman. On a typical Tuesday she might "
                "help a farmer find information on soil testing, walk a nervous pensioner through setting up "
                "an email account and unblock the sink in the staff kitchen, all before lunch."
            ),
            (
                "What struck me most during a week spent there was how little of the activity involved books "
                "in the traditional sense. People came to print job applications, to sit in the warm reading "
                "room when heating bills were high, to attend a knitting circle or a language exchange, or "
                "simply to spend an hour quietly among other people. The library had become the nearest "
                "thing the town had to a shared living room."
            ),
            (
                "Borrowing figures have nonetheless climbed steadily, and the children's section is now the "
                "busiest corner of the building. Kovacs credits the weekly story hour, which began with four "
                "toddlers and now regularly draws more than thirty, along with a fair number of grandparents "
                "who claim they are only there to supervise. The carpet has still not been replaced. Nobody "
                "seems to mind very much."
            ),
        ),
    ),
    Article(
        slug="rainwater-harvesting-for-gardens",
        title="Catching the Rain: A Beginner's Guide to Water Butts",
        language="en",
        kind="article",
        paragraphs=(
            (
                "A single heavy summer shower can send hundreds of litres of water off an ordinary house "
                "roof and straight into the drains. For gardeners who spend the dry weeks of July dragging a "
                "hose across the lawn, that is a painful waste. Collecting rainwater is one of the simplest "
                "and cheapest ways to make a garden more resilient, and it requires neither specialist "
                "skills nor much space."
            ),
            (
                "The most common setup is a water butt: a large plastic barrel connected to a downpipe with "
                "a diverter kit. The diverter sends water into the barrel until it is full, then lets any "
                "overflow continue into the drain as normal. Installation usually takes less than an hour "
                "and involves cutting a short section out of the downpipe, fitting the diverter and "
                "connecting a hose. Placing the barrel on a sturdy stand makes it far easier to fill a "
                "watering can from the tap at the bottom."
            ),
            (
                "It is worth doing some rough arithmetic before buying. Every square metre of roof collects "
                "roughly one litre of water for each millimetre of rain. A modest shed roof of six square "
                "metres can therefore fill a two-hundred-litre butt after a wet week, while the roof of a "
                "house may fill several linked barrels in a single storm. Many gardeners end up adding a "
                "second container within a year."
            ),
            (
                "Plants tend to prefer rainwater. It is slightly acidic and free of the chlorine and "
                "minerals found in tap water, which is particularly welcome for blueberries, camellias and "
                "carnivorous plants. It is not, however, safe to drink without proper treatment, and barrels "
                "should always be fitted with secure lids to keep out children, small animals and mosquito "
                "larvae."
            ),
            (
                "Maintenance is minimal. A quick clean each autumn removes the sludge and leaves that "
                "accumulate at the bottom, and in areas with hard frosts it is sensible to drain the barrel "
                "partially so that expanding ice does not crack it. With that small amount of care, a water "
                "butt can quietly save thousands of litres a year and keep a vegetable patch alive through "
                "the first weeks of a hosepipe ban."
            ),
        ),
    ),
    Article(
        slug="binoculars-before-telescopes",
        title="Looking Up: Why Binoculars Beat a Cheap Telescope",
        language="en",
        kind="article",
        paragraphs=(
            (
                "Every December, thousands of people unwrap their first telescope, carry it outside with "
                "great excitement and return indoors twenty minutes later, cold and disappointed. The mount "
                "wobbles, the finder scope points somewhere else entirely, and the moon drifts out of view "
                "before anyone can focus on it. It is a shame, because the night sky rewards curiosity "
                "generously, provided that the first steps are gentle ones."
            ),
            (
                "Many experienced observers recommend beginning with an ordinary pair of binoculars. A model "
                "with fifty-millimetre lenses and seven to ten times magnification gathers far more light "
                "than the human eye and offers a wide, forgiving field of view. Pointed at the Milky Way on "
                "a dark night, even modest binoculars reveal star clusters, glowing nebulae and countless "
                "faint stars that were invisible a moment earlier."
            ),
            (
                "The second essential tool costs nothing at all: patience with darkness. Human eyes take "
                "around twenty minutes to adapt fully to low light, and a single glance at a bright phone "
                "screen resets the process. Red torches, which preserve night vision, are a staple of "
                "astronomy clubs for exactly this reason. Printed star charts or an app set to night mode "
                "help with orientation."
            ),
            (
                "A good first target is the moon, though not when it is full. Around first quarter, the "
                "shadows along the line between day and night throw craters and mountain ranges into sharp "
                "relief. Jupiter is another reliable reward. Hold the binoculars steady, perhaps braced "
                "against a fence post, and you may see up to four tiny points of light strung out beside the "
                "planet: its largest moons, exactly as Galileo saw them four centuries ago."
            ),
            (
                "Once these sights become familiar, a telescope makes far more sense. By then the observer "
                "knows the sky, understands what magnification can and cannot do, and has realistic "
                "expectations. A local astronomy society is the best place to try different instruments "
                "before buying. Members are almost always delighted to share their equipment, their flasks "
                "of coffee and their enthusiasm with newcomers shivering in a dark field."
            ),
        ),
    ),
    Article(
        slug="three-days-on-the-ridge",
        title="Three Days on the Ridge",
        language="en",
        kind="article",
        paragraphs=(
            (
                "We set off from the village at dawn, four of us with heavy packs and light hearts, "
                "following a stony farm track that climbed steadily between drystone walls. The forecast "
                "promised three days of settled weather, which in these hills is a rare and precious thing. "
                "By mid-morning the track had dwindled to a narrow path, and the village below had shrunk to "
                "a scattering of grey roofs beside a silver thread of river."
            ),
            (
                "The first afternoon was the hardest. The path gained almost eight hundred metres over a few "
                "kilometres, crossing loose scree and a boggy plateau where every step sank with a soft, "
                "reluctant squelch. We reached the ridge an hour before sunset and pitched our tents in the "
                "shelter of a rocky outcrop. Dinner was pasta cooked on a small gas stove, and nobody has "
                "ever tasted anything better."
            ),
            (
                "The second day was the reward for the first. The ridge ran for nearly fifteen kilometres "
                "with barely a descent, a long grassy spine with views in every direction. To the west lay "
                "the sea, hazy and pale; to the east, a patchwork of valleys and distant reservoirs. We "
                "walked mostly in silence, each of us lost in the rhythm of breathing and footsteps. A pair "
                "of ravens followed us for an hour, tumbling and calling in the wind."
            ),
            (
                "Not everything went smoothly. On the final morning a thick mist rolled in without warning, "
                "reducing visibility to a few metres. We stopped, took out the map and compass, and "
                "navigated carefully from cairn to cairn until the path finally dropped beneath the cloud. "
                "It was a useful reminder that phones and their fragile batteries are no substitute for "
                "basic navigation skills in the mountains."
            ),
            (
                "We arrived back in the village late that afternoon, sunburnt, muddy and pleasantly "
                "exhausted. The pub by the bridge served enormous plates of chips, and we sat outside long "
                "after they were finished, reluctant to break the spell. Already, someone was unfolding the "
                "map again and pointing at another ridge, further north, for next year."
            ),
        ),
    ),
    Article(
        slug="chess-opening-principles",
        title="Stop Memorising Chess Openings and Start Understanding Them",
        language="en",
        kind="article",
        paragraphs=(
            (
                "New chess players often believe the secret to winning lies in memorising long sequences of "
                "opening moves. Bookshop shelves groan under thick volumes devoted to single variations, and "
                "online videos promise devastating traps that will crush opponents in ten moves. The truth "
                "is more modest and far more useful. In the first dozen moves of a game, a handful of simple "
                "principles matter much more than any memorised line."
            ),
            (
                "The first principle is to fight for the centre. The four squares in the middle of the board "
                "are the most valuable territory, because pieces placed there control the greatest number of "
                "other squares. That is why so many games begin with a pawn advancing two squares in front "
                "of the king or queen. Those pawns stake a claim and open lines for the bishops and the "
                "queen behind them."
            ),
            (
                "The second principle is to develop pieces quickly. Knights and bishops sitting on their "
                "starting squares contribute nothing, so each early move should ideally bring a new piece "
                "into play. Moving the same piece twice, or sending the queen on an early adventure, usually "
                "wastes valuable time. An experienced opponent will happily chase a wandering queen around "
                "the board while calmly completing their own development."
            ),
            (
                "The third principle is king safety. Castling early tucks the king behind a wall of pawns "
                "and connects the rooks, which can then cooperate along the back rank. Beginners frequently "
                "delay castling to pursue an attack, only to find their own king stranded in the centre when "
                "the position opens up."
            ),
            (
                "None of this means openings have no theory worth learning. Once the principles feel "
                "natural, studying one solid opening with white and one reply to each of the most common "
                "first moves with black will give a player a comfortable foundation. The goal is not to "
                "remember every move but to understand why each move is played. A player who knows the "
                "reasons can find good moves even after an opponent leaves the familiar path, which, at club "
                "level, happens in almost every game."
            ),
        ),
    ),
    Article(
        slug="home-composting-basics",
        title="Turning Kitchen Scraps Into Black Gold",
        language="en",
        kind="article",
        paragraphs=(
            (
                "Roughly a third of what the average household throws away could be composted. Vegetable "
                "peelings, coffee grounds, tea leaves, eggshells and garden trimmings all break down into a "
                "dark, crumbly material that gardeners prize above almost any fertiliser sold in a shop. "
                "Making it at home is neither smelly nor complicated, provided a few basic rules are "
                "respected."
            ),
            (
                "The key idea is balance. Compost needs a mix of green material, which is rich in nitrogen, "
                "and brown material, which supplies carbon. Greens include fresh grass clippings and food "
                "scraps; browns include dry leaves, shredded cardboard, straw and twigs. A heap made "
                "entirely of kitchen waste turns wet, slimy and unpleasant, while one made only of dry "
                "leaves will sit unchanged for years. Roughly equal volumes of each work well for most "
                "people."
            ),
            (
                "Air and moisture are the other two ingredients. The microbes that do the real work need "
                "oxygen, so turning the pile with a garden fork every couple of weeks speeds things up "
                "considerably. The contents should feel like a wrung-out sponge, damp but not dripping. In a "
                "hot summer an occasional splash from the watering can helps, while in a wet winter a lid or "
                "an old piece of carpet keeps the rain from drowning the heap."
            ),
            (
                "Certain things are best kept out. Meat, fish and dairy products attract rats and foxes, and "
                "cooked food containing oil can create unpleasant smells. Diseased plants and perennial "
                "weeds with vigorous roots may survive the process and return to haunt the vegetable beds. "
                "Glossy printed paper and anything labelled as compostable only in industrial facilities "
                "should also go elsewhere."
            ),
            (
                "Depending on the season and the care taken, compost can be ready in anything from three "
                "months to a year. It is finished when it smells earthy and the original ingredients are no "
                "longer recognisable. Spread a few centimetres over the beds in spring, and the soil will "
                "reward the effort with better structure, healthier plants and a noticeably lighter bin on "
                "collection day."
            ),
        ),
    ),
    Article(
        slug="repairing-a-mechanical-watch",
        title="Inside My Grandfather's Wristwatch",
        language="en",
        kind="article",
        paragraphs=(
            (
                "The watch had not ticked in at least twenty years. It belonged to my grandfather, a railway "
                "signalman who wore it every working day from 1958 until his retirement, and it spent the "
                "following decades in a drawer alongside old keys and foreign coins. When I finally took it "
                "to a watchmaker, I asked whether I might watch the repair. To my surprise, she agreed."
            ),
            (
                "Her workshop was a narrow room above a shoe shop, lit by a single bright lamp and smelling "
                "faintly of oil and metal polish. She opened the case back with a small tool that gripped "
                "the notches around its edge, and the movement appeared: a tiny landscape of brass wheels, "
                "jewelled bearings and a coiled hairspring finer than a human hair. Under the loupe, I could "
                "see a film of dried, brownish oil clinging to almost every surface."
            ),
            (
                "The diagnosis was straightforward. Old lubricants had thickened into something like "
                "varnish, and a broken mainspring had ended the watch's working life. She dismantled the "
                "movement completely, laying each part in a tray with dozens of small compartments. Screws "
                "scarcely bigger than a grain of sand went into their own labelled dishes. Everything was "
                "then cleaned in a series of solutions and dried in warm air."
            ),
            (
                "Reassembly took the better part of an afternoon. A new mainspring, sourced from a supplier "
                "who still stocks parts for old calibres, was wound into its barrel. Each pivot received a "
                "microscopic drop of oil applied with a needle-thin tool. The balance wheel, the part that "
                "actually keeps time, was cleaned, trued and finally set swinging with a gentle puff of air. "
                "When it began to oscillate, the watch came alive with a quick, steady tick."
            ),
            (
                "Over the following week she regulated it on a timing machine until it gained only a few "
                "seconds a day. The cost was not trivial, roughly what one might pay for a new mid-range "
                "watch, but the value is of a different kind. The watch now sits on my own wrist, keeping "
                "time as faithfully as it did in the signal box, and every morning I wind it with the same "
                "small ritual my grandfather must have followed."
            ),
        ),
    ),
    Article(
        slug="westbrook-election-turnout",
        title="Why Turnout Fell in Westbrook, and Where It Rose",
        language="en",
        kind="article",
        paragraphs=(
            (
                "Only thirty-eight per cent of registered voters in Westbrook cast a ballot in last month's "
                "municipal election, the lowest figure the town has recorded in more than two decades. The "
                "headline number prompted a familiar round of hand-wringing about apathy, but a closer look "
                "at the results from each polling district suggests a more complicated and, in places, more "
                "encouraging story."
            ),
            (
                "The steepest decline came in the three central districts around the old market square, "
                "where turnout dropped by almost eleven points compared with four years ago. These areas "
                "have changed rapidly since the last election. Many long-standing residents have moved out "
                "as rents climbed, and a large share of newer residents are renters in their twenties and "
                "thirties who may not yet have registered at their current address or feel much connection "
                "to local politics."
            ),
            (
                "The council's decision to close two polling stations in the centre, merging them into a "
                "single site at the leisure centre, may also have played a role. Several residents "
                "interviewed outside the new location complained about queues and confusion over where to "
                "go. Election officials argue that the change saved money and that postal voting was widely "
                "promoted, yet the affected districts recorded the sharpest drops of all."
            ),
            (
                "By contrast, turnout actually rose in the Riverside and Northfield districts on the edge of "
                "town. Both areas were at the heart of a long dispute over a proposed logistics depot, and "
                "campaigners on both sides worked hard to get their supporters to the polls. The lesson, "
                "local organisers suggest, is that people vote when they believe the outcome will touch "
                "their daily lives."
            ),
            (
                "Independent analysts caution against reading too much into a single election. The weather "
                "on polling day was poor, and turnout in municipal contests across the region was also down, "
                "though less sharply. Still, the district figures offer a clear message for whoever sits on "
                "the new council. Engagement is not disappearing evenly across Westbrook; it is "
                "concentrating where people feel heard, and fading where they feel overlooked."
            ),
        ),
    ),
    Article(
        slug="della-marsh-jazz-profile",
        title="Della Marsh and the Art of Leaving Space",
        language="en",
        kind="article",
        paragraphs=(
            (
                "Della Marsh does not play many notes. In a genre that often rewards speed and virtuosity, "
                "the seventy-one-year-old pianist has built a devoted following by doing almost the "
                "opposite. Her solos unfold slowly, with long pauses that make audiences lean forward in "
                "their seats, as if the silence itself were part of the melody. Which, she insists, it is."
            ),
            (
                "Marsh grew up above a hardware shop in a port town, the youngest of five children. There "
                "was an upright piano in the front room that nobody else wanted to practise on, so she "
                "claimed it. Her mother played hymns; her father, a merchant sailor, brought home records "
                "from wherever his ship had docked. She remembers hearing a scratched recording of a trio "
                "playing a ballad so quietly that she had to press her ear against the speaker, and "
                "deciding, at nine years old, that this was what she wanted to do."
            ),
            (
                "Her early career was a long apprenticeship in hotel bars, dance halls and late-night clubs "
                "where nobody was really listening. She says those years taught her more than any "
                "conservatory could have. When a room is noisy, she explains, the temptation is to play "
                "louder and faster, but the only thing that truly captures attention is restraint. She "
                "learned to wait."
            ),
            (
                "Recognition came late. Her first album under her own name was recorded when she was "
                "forty-six, in a single afternoon, with a borrowed bassist and a drummer she had met that "
                "morning. It sold modestly at first but gained a reputation by word of mouth, and a "
                "generation of younger musicians now cite it as a formative influence."
            ),
            (
                "These days she performs only a few dozen concerts a year, preferring small venues with good "
                "pianos and attentive audiences. She still practises every morning, though she says most of "
                "that time is spent listening rather than playing. Asked what advice she would give a young "
                "musician, she thinks for a long moment before answering. Learn the tune properly, she says, "
                "then learn to trust the rests. The notes you leave out are the ones people remember."
            ),
        ),
    ),
    # --- foreign: Good prose in languages other than English.
    Article(
        slug="de-samstag-auf-dem-wochenmarkt",
        title="Samstagmorgen auf dem Wochenmarkt",
        language="de",
        kind="foreign",
        paragraphs=(
            (
                "Jeden Samstagmorgen verwandelt sich der kleine Platz vor dem Rathaus in einen lebhaften "
                "Markt. Schon um sieben Uhr bauen die Händler ihre Stände auf, stapeln Kisten mit Äpfeln, "
                "Kartoffeln und frischem Salat und hängen Schilder mit handgeschriebenen Preisen auf. Wer "
                "früh kommt, bekommt die besten Erdbeeren und muss an der Käsetheke nicht lange warten."
            ),
            (
                "Für viele Menschen im Viertel ist der Markt mehr als nur ein Ort zum Einkaufen. Man trifft "
                "Nachbarn, tauscht Neuigkeiten aus und trinkt einen Kaffee am Wagen neben dem Brunnen. Die "
                "Bäckerin kennt die meisten Kunden beim Namen und weiß genau, wer lieber Roggenbrot und wer "
                "lieber Brötchen mit Kürbiskernen kauft."
            ),
            (
                "Natürlich ist nicht alles billiger als im Supermarkt. Dafür stammen viele Produkte aus der "
                "Umgebung, und die Bauern erklären gern, wie sie ihr Gemüse anbauen. Besonders im Herbst, "
                "wenn es Pilze, Kürbisse und frisch gepressten Apfelsaft gibt, lohnt sich ein Besuch. Gegen "
                "Mittag wird es ruhiger, die Stände werden abgebaut, und der Platz gehört wieder den Tauben "
                "und den spielenden Kindern."
            ),
        ),
    ),
    Article(
        slug="fr-aller-au-travail-a-velo",
        title="Aller au travail à vélo",
        language="fr",
        kind="foreign",
        paragraphs=(
            (
                "Depuis l'année dernière, je vais au travail à vélo presque tous les jours. Au début, l'idée "
                "me paraissait un peu folle : douze kilomètres à l'aller, autant au retour, et une longue "
                "côte juste avant d'arriver au bureau. Pourtant, après quelques semaines, ce trajet est "
                "devenu le meilleur moment de ma journée."
            ),
            (
                "Le matin, la ville est encore calme. Je longe le canal, je croise des joggeurs, des "
                "pêcheurs et parfois un héron immobile au bord de l'eau. J'arrive au bureau bien réveillé, "
                "de bonne humeur, et sans avoir passé vingt minutes à chercher une place de stationnement. "
                "Le soir, pédaler m'aide à laisser derrière moi les soucis de la journée."
            ),
            (
                "Bien sûr, il y a des inconvénients. Quand il pleut pendant une semaine entière, il faut du "
                "courage pour enfiler un imperméable et partir sous l'averse. Il faut aussi apprendre à "
                "réparer une crevaison et à partager la route avec des automobilistes pas toujours patients. "
                "Mais je ne regrette rien : je suis en meilleure forme, j'économise de l'argent, et je "
                "redécouvre chaque jour des rues que je croyais connaître par cœur."
            ),
        ),
    ),
    Article(
        slug="es-la-paella-de-los-domingos",
        title="La paella de los domingos",
        language="es",
        kind="foreign",
        paragraphs=(
            (
                "En casa de mis abuelos, el domingo siempre empezaba con el olor del sofrito. Mi abuela se "
                "levantaba temprano, encendía el fuego en el patio y preparaba la paella en una sartén "
                "enorme que solo se usaba en ocasiones especiales. Nadie podía tocar el arroz mientras se "
                "cocinaba; esa era la única regla que no admitía discusión."
            ),
            (
                "Poco a poco iban llegando los tíos, los primos y algún vecino que pasaba por casualidad "
                "justo a la hora de comer. Los niños jugábamos en la calle hasta que alguien gritaba nuestro "
                "nombre desde la ventana. Entonces corríamos a la mesa, larga y llena de platos, pan y "
                "jarras de agua fresca."
            ),
            (
                "Hoy mi abuela ya no cocina, pero sigue sentándose en la cabecera y vigila con atención cada "
                "paso que damos. Mi madre ha heredado la sartén y yo intento aprender sus secretos, aunque "
                "todavía no consigo el famoso socarrat, esa capa tostada del fondo que todos se disputan. "
                "Quizás lo importante no sea la receta, sino la costumbre de reunirnos alrededor de la misma "
                "mesa."
            ),
        ),
    ),
    Article(
        slug="it-il-caffe-del-mattino",
        title="Il caffè del mattino",
        language="it",
        kind="foreign",
        paragraphs=(
            (
                "In Italia il caffè non è soltanto una bevanda, ma un piccolo rito quotidiano. Ogni mattina, "
                "prima di andare al lavoro, entro nello stesso bar all'angolo della piazza. Il barista mi "
                "saluta per nome e, senza che io dica una parola, comincia a preparare un espresso ristretto "
                "e un cornetto alla marmellata."
            ),
            (
                "Al bancone si incontrano persone di ogni tipo: operai in tuta, impiegati in giacca e "
                "cravatta, studenti ancora mezzi addormentati e anziani che leggono il giornale sportivo "
                "commentando ad alta voce i risultati della domenica. Si resta in piedi pochi minuti, si "
                "scambiano due chiacchiere sul tempo o sulla politica, e poi ognuno riprende la propria "
                "strada."
            ),
            (
                "Qualche turista ordina un cappuccino nel pomeriggio, e il barista sorride con pazienza, "
                "anche se la tradizione dice che il latte si beve solo al mattino. Sono regole non scritte, "
                "ma tutti le conoscono. Per me quei cinque minuti al bar sono il vero inizio della giornata: "
                "il profumo del caffè, il tintinnio delle tazzine e una voce familiare che mi augura buon "
                "lavoro."
            ),
        ),
    ),
    Article(
        slug="pt-passeio-a-beira-mar-no-inverno",
        title="Um passeio à beira-mar no inverno",
        language="pt",
        kind="foreign",
        paragraphs=(
            (
                "Muita gente pensa que a praia só vale a pena no verão, mas eu prefiro visitá-la no inverno. "
                "Num domingo de janeiro, o areal está quase vazio, o vento sopra forte do mar e as ondas "
                "chegam altas e barulhentas. Só se veem alguns pescadores, um ou outro surfista corajoso e "
                "pessoas a passear com os seus cães."
            ),
            (
                "Gosto de caminhar devagar junto à água, com o casaco bem fechado, e de apanhar as conchas "
                "que a maré deixou na areia. O ar frio e salgado limpa a cabeça depois de uma semana "
                "cansativa. Às vezes paro para observar as gaivotas, que parecem brincar com o vento sem "
                "nenhum esforço."
            ),
            (
                "No fim do passeio há sempre uma pequena recompensa: um café quente e um pastel de nata numa "
                "pastelaria da vila, com as janelas embaciadas e o cheiro a canela no ar. Ali sentado, a ver "
                "o mar cinzento pela janela, sinto uma tranquilidade que raramente encontro no verão, quando "
                "a praia está cheia de gente, de guarda-sóis e de música alta."
            ),
        ),
    ),
    Article(
        slug="nl-moestuin-op-het-balkon",
        title="Een moestuin op het balkon",
        language="nl",
        kind="foreign",
        paragraphs=(
            (
                "Twee jaar geleden besloot ik groenten te kweken op mijn kleine balkon in de stad. Ik had "
                "geen tuin en nauwelijks ervaring, maar wel veel zin om iets nieuws te proberen. Met een "
                "paar grote bakken, een zak potgrond en wat zaadjes van de markt begon ik in het voorjaar "
                "aan mijn eerste moestuin."
            ),
            (
                "Het eerste jaar ging lang niet alles goed. De sla werd opgegeten door slakken, de wortels "
                "bleven klein en krom, en ik vergat in de zomer regelmatig water te geven. Toch waren er ook "
                "successen. De tomaten groeiden als kool, en de kruiden, vooral de basilicum en de munt, "
                "leverden de hele zomer genoeg op voor mijn eigen keuken en voor de buren."
            ),
            (
                "Inmiddels weet ik beter wat werkt op een balkon op het zuiden. Ik kies voor compacte "
                "soorten, geef elke avond water en heb een klein scherm neergezet tegen de wind. Het mooiste "
                "vind ik eigenlijk niet de oogst, maar het moment 's ochtends met een kop koffie tussen de "
                "planten, wanneer de stad nog stil is en ik kan zien hoe alles weer een beetje gegroeid is."
            ),
        ),
    ),
    Article(
        slug="ru-zimnie-vykhodnye-na-dache",
        title="Зимние выходные на даче",
        language="ru",
        kind="foreign",
        paragraphs=(
            (
                "Каждую зиму мы с друзьями хотя бы один раз уезжаем на выходные на старую дачу за городом. "
                "Летом там шумно и весело, а зимой всё совсем иначе: тишина, глубокий снег и высокие ели "
                "вокруг маленького деревянного дома. Дорогу от станции обычно никто не чистит, поэтому "
                "последние два километра мы идём пешком с тяжёлыми рюкзаками."
            ),
            (
                "Первым делом нужно растопить печь. Дом за неделю промерзает насквозь, и пока он "
                "прогревается, мы пьём горячий чай прямо в куртках и шапках. Потом кто-то идёт за водой к "
                "колодцу, кто-то расчищает дорожку от снега, а кто-то начинает готовить ужин. К вечеру в "
                "комнате становится тепло, пахнет дровами и печёной картошкой."
            ),
            (
                "Вечером мы долго сидим за столом, разговариваем, играем в настольные игры и вспоминаем "
                "прошлые поездки. Телефоны почти не ловят сеть, и никто об этом не жалеет. А утром, выйдя на "
                "крыльцо, видишь свежий снег, яркое солнце и следы зайца у забора. Ради таких минут стоит "
                "терпеть и холод, и долгую дорогу."
            ),
        ),
    ),
    Article(
        slug="ja-machi-no-sento",
        title="町の銭湯",
        language="ja",
        kind="foreign",
        paragraphs=(
            (
                "私の家の近くには、昔ながらの銭湯が一軒残っています。"
                "入り口には大きなのれんがかかっていて、"
                "番台には八十歳を過ぎたおばあさんが今も毎日座っています。"
                "料金は少し値上がりしましたが、それでも気軽に通える値段です。"
            ),
            (
                "仕事で疲れた日の夜、大きな湯船にゆっくりつかると、体も心もほぐれていきます。"
                "壁には富士山の絵が描かれていて、"
                "湯気の向こうにぼんやりと見えるのがなんとも言えません。常連のおじいさんたちは、"
                "天気や野球の話でいつも盛り上がっています。"
            ),
            (
                "最近は家にお風呂があるのが当たり前になり、町の銭湯は少しずつ減っています。"
                "それでも、知らない人同士が同じお湯につかり、「お先に」"
                "と声をかけ合うこの場所には、特別な温かさがあると思います。"
                "これからもできるだけ長く続いてほしいです。"
            ),
        ),
    ),
    Article(
        slug="zh-chunjie-bao-jiaozi",
        title="春节包饺子",
        language="zh",
        kind="foreign",
        paragraphs=(
            (
                "每年春节前，我们全家都会聚在一起包饺子。妈妈负责和面、调馅，爸爸擀皮，"
                "我和妹妹就坐在桌边跟着学。馅儿一般是猪肉白菜的，有时也会做一些韭菜鸡蛋的，"
                "专门给不吃肉的奶奶准备。"
            ),
            (
                "小时候我包的饺子总是歪歪扭扭的，一下锅就破了，大家都笑我。奶奶却很耐心，"
                "一遍又一遍地教我怎么捏边，怎么让饺子站得稳。现在我包得又快又好看，"
                "可她的手已经不像从前那么灵活了。"
            ),
            (
                "除夕晚上，饺子在锅里翻滚，窗外的鞭炮声此起彼伏，电视里放着热闹的节目。"
                "一家人围坐在桌旁，一边吃一边聊天。对我来说，饺子的味道就是家的味道，"
                "不管走到哪里都忘不了。"
            ),
        ),
    ),
    # --- wikipedia: Encyclopedia-style entries about fictional subjects.
    Article(
        slug="velmora-river",
        title="Velmora River",
        language="en",
        kind="wikipedia",
        paragraphs=(
            (
                "The Velmora is a river in the Casterlund highlands, flowing approximately 214 kilometres "
                "from its source in the Orrin Hills to its mouth on the Gulf of Sael. It is the principal "
                "river of the Casterlund basin and has historically served as an important route for trade, "
                "timber transport and irrigation. The surrounding lowland district, known as the Velmora "
                "Valley, is noted for its orchards and terraced vineyards."
            ),
            "Geography",
            (
                "The river rises from a group of springs at an elevation of about 1,180 metres on the "
                "eastern slope of Mount Orrin. In its upper course it descends rapidly through a series of "
                "narrow gorges, the largest of which, the Kessel Gorge, reaches a depth of nearly 300 "
                "metres. Below the market town of Dunmere the valley widens and the river meanders across a "
                "broad alluvial plain before dividing into several channels that form a marshy delta. Its "
                "principal tributaries are the Ashlin, the Tarrow and the Little Velmora."
            ),
            "History",
            (
                "Archaeological evidence indicates that the lower valley has been settled since at least the "
                "late Bronze Age. During the medieval period the river formed part of the boundary between "
                "two rival duchies, and several fortified crossings were built along its banks. In the "
                "eighteenth century a system of locks was constructed between Dunmere and the coast, "
                "allowing barges to carry grain and timber to the port of Saelhaven. Commercial navigation "
                "declined after the opening of a railway line along the valley in 1864."
            ),
            "Ecology",
            (
                "The Velmora delta is a designated wetland reserve and provides habitat for a large "
                "population of wading birds, including grey herons, avocets and spoonbills. Water quality in "
                "the middle reaches deteriorated during the twentieth century as a result of agricultural "
                "runoff, but has improved since the introduction of stricter regulations in the 1990s. "
                "Salmon, which had disappeared from the river by the 1950s, were recorded spawning in the "
                "upper tributaries again in 2009."
            ),
        ),
    ),
    Article(
        slug="matthias-hollenbeck",
        title="Matthias Hollenbeck",
        language="en",
        kind="wikipedia",
        paragraphs=(
            (
                "Matthias Ewald Hollenbeck (1731–1794) was an astronomer and instrument maker known for his "
                "catalogue of double stars and for early observations of variability in the star he "
                "designated Hollenbeck 17. He spent most of his career at a private observatory in his "
                "native town of Lindau-am-Roth and corresponded extensively with learned societies."
            ),
            "Early life",
            (
                "Hollenbeck was born in Lindau-am-Roth, the son of a clockmaker. He was apprenticed to his "
                "father at the age of twelve and acquired considerable skill in the grinding of lenses and "
                "the construction of precision mechanisms. A local clergyman taught him mathematics and "
                "Latin, and in 1752 he travelled to attend university lectures in natural philosophy, "
                "although financial difficulties forced him to return home without completing a degree."
            ),
            "Career",
            (
                "In 1758 Hollenbeck built a small observatory on the roof of the family workshop, equipped "
                "with reflecting telescopes of his own design. Over the following three decades he recorded "
                "the positions of more than 600 pairs of closely spaced stars, publishing the results in his "
                "Catalogus Stellarum Duplicium in 1781. His measurements were noted by contemporaries for "
                "their consistency, which he attributed to a screw micrometer of his own invention. He also "
                "made regular observations of comets and, in 1769, produced a detailed written account of "
                "the transit of Venus as seen from his observatory."
            ),
            (
                "Hollenbeck married Johanna Treuer in 1762; the couple had four children, one of whom, Karl "
                "Hollenbeck, continued the family instrument business after his father's death."
            ),
            "Legacy",
            (
                "Hollenbeck's instruments were sold after his death and are now largely lost, although a "
                "brass micrometer attributed to him is preserved in a regional museum. His catalogue was "
                "superseded in the nineteenth century by more accurate surveys, but historians of astronomy "
                "regard it as a notable example of systematic observation by an independent and largely "
                "self-taught practitioner. A street in Lindau-am-Roth bears his name."
            ),
        ),
    ),
    Article(
        slug="ambrelide",
        title="Ambrelide",
        language="en",
        kind="wikipedia",
        paragraphs=(
            (
                "Ambrelide is a synthetic organic compound used primarily as a fixative in perfumery and as "
                "an intermediate in the production of certain dyes. It is a colourless to pale yellow "
                "crystalline solid with a faint woody odour, and is sparingly soluble in water but readily "
                "soluble in ethanol and most organic solvents. The compound was first prepared in 1927 and "
                "takes its name from its ambergris-like scent when diluted."
            ),
            "Properties",
            (
                "Ambrelide melts at approximately 84 °C and decomposes before reaching its boiling point at "
                "atmospheric pressure. It is stable under normal storage conditions but slowly oxidises when "
                "exposed to air and light for long periods, developing a darker colour and a sharper odour. "
                "For this reason commercial samples are usually stored in amber glass containers under an "
                "inert atmosphere. The molecule contains a fused ring system with a single ketone group, "
                "which is responsible for much of its chemical reactivity."
            ),
            "Production",
            (
                "Industrial production generally involves a multi-step synthesis beginning with inexpensive "
                "terpene feedstocks obtained from pine resin. The final cyclisation step is carried out in "
                "the presence of an acid catalyst, after which the product is purified by recrystallisation. "
                "Global output is estimated at a few hundred tonnes per year, the majority of which is "
                "consumed by the fragrance industry."
            ),
            "Uses",
            (
                "In perfumery, ambrelide is valued for its ability to slow the evaporation of more volatile "
                "components, extending the longevity of a scent on the skin. It is also used in small "
                "quantities in soaps, detergents and scented candles. Its derivatives have been investigated "
                "as precursors for yellow and orange dyes, although these applications remain of limited "
                "commercial importance."
            ),
            "Safety",
            (
                "Ambrelide is considered to have low acute toxicity. Prolonged skin contact may cause mild "
                "irritation in sensitive individuals, and industry guidelines recommend limits on its "
                "concentration in cosmetic products."
            ),
        ),
    ),
    # --- spam: Keyword-stuffed, shouting, low-quality pages.
    Article(
        slug="cheap-watches-best-deals",
        title="CHEAP WATCHES BEST CHEAP WATCHES",
        language="en",
        kind="spam",
        paragraphs=(
            (
                "CHEAP WATCHES BEST CHEAP WATCHES BUY CHEAP WATCHES ONLINE!!! cheap watches for men cheap "
                "watches for women cheap watches sale cheap watches"
            ),
            (
                "Looking for cheap watches? Our cheap watches are the best cheap watches because cheap "
                "watches from our cheap watches store are cheaper than other cheap watches!!!!!!"
            ),
            (
                "cheap watches, discount watches, luxury watches cheap, replica watches, watches online, "
                "best watches, watch deals, cheap watch shop, buy watches now, free shipping watches, cheap "
                "watches uk, cheap watches usa"
            ),
            "CLICK HERE TO BUY CHEAP WATCHES NOW!!! LIMITED OFFER $$$ SAVE 90% $$$ DON'T MISS OUT!!!!!!!!!",
            ("cheap watches cheap watches cheap watches cheap watches cheap watches cheap watches cheap watches"),
            "Click here >>> BEST CHEAP WATCHES <<< click here",
        ),
    ),
    Article(
        slug="make-money-from-home-fast",
        title="MAKE $$$ FROM HOME",
        language="en",
        kind="spam",
        paragraphs=(
            "MAKE $$$ FROM HOME!!! NO EXPERIENCE NEEDED!!! START TODAY!!!",
            (
                "I made $9,847 last month working just 2 hours a day from my kitchen table!!! YOU CAN TOO!!! "
                "Click here to learn the SECRET that the banks DON'T want you to know $$$$$$"
            ),
            "MAKE $$$ FROM HOME!!! NO EXPERIENCE NEEDED!!! START TODAY!!!",
            (
                "work from home, make money online, easy money, fast cash, passive income, get rich quick, "
                "online jobs, earn money fast, home business, financial freedom, money from home"
            ),
            "MAKE $$$ FROM HOME!!! NO EXPERIENCE NEEDED!!! START TODAY!!!",
            "CLICK HERE CLICK HERE CLICK HERE!!!!!!!!!!!!",
            "MAKE $$$ FROM HOME!!! NO EXPERIENCE NEEDED!!! START TODAY!!!",
            "MAKE $$$ FROM HOME!!! NO EXPERIENCE NEEDED!!! START TODAY!!!",
        ),
    ),
    Article(
        slug="weight-loss-pills-fast",
        title="LOSE 30 POUNDS IN 7 DAYS",
        language="en",
        kind="spam",
        paragraphs=(
            "LOSE 30 POUNDS IN 7 DAYS!!!!!! DOCTORS HATE THIS ONE WEIRD TRICK!!!",
            (
                "weight loss, fast weight loss, weight loss pills, diet pills, lose weight fast, best diet, "
                "slimming tea, fat burner, burn belly fat, weight loss supplement, natural weight loss, keto "
                "diet pills"
            ),
            (
                "Our miracle weight loss pills are the best weight loss pills for fast weight loss. Buy "
                "weight loss pills online and lose weight fast with weight loss pills that really work!!! "
                "Weight loss weight loss weight loss."
            ),
            "ONLY $$$ 19.99 $$$ TODAY ONLY!!! ORDER NOW BEFORE IT'S TOO LATE!!! 100% GUARANTEED!!!",
            ">>> Click here to order <<< >>> Click here to order <<< >>> Click here to order <<<",
        ),
    ),
    Article(
        slug="free-casino-bonus-spins",
        title="FREE SPINS FREE BONUS WIN BIG",
        language="en",
        kind="spam",
        paragraphs=(
            "FREE DOWNLOAD FREE MOVIES FREE MUSIC FREE GAMES FREE SOFTWARE FREE FREE FREE!!!",
            (
                "best online casino, casino bonus, free spins, online slots, win real money, casino no "
                "deposit, jackpot, poker online, roulette, blackjack, bet now, sports betting, casino free "
                "bonus"
            ),
            (
                "WIN BIG TODAY!!! $$$$$$ $$$$$$ $$$$$$ Join now and get 500 FREE SPINS!!! Everybody wins!!! "
                "Our online casino is the best online casino with the best casino bonus of all the online "
                "casinos online!!!!!!"
            ),
            "Click here to claim your bonus. Click here to claim your bonus. Click here to claim your bonus.",
            (
                "keywords: casino, casino online, online casino, best casino, free casino, casino games, "
                "casino slots, casino jackpot"
            ),
        ),
    ),
    # --- thin: Pages with almost no text content.
    Article(
        slug="page-under-construction",
        title="Coming Soon",
        language="en",
        kind="thin",
        paragraphs=("Page under construction. Please check back soon.",),
    ),
    Article(
        slug="loading-placeholder",
        title="Loading",
        language="en",
        kind="thin",
        paragraphs=("Loading content, please wait...",),
    ),
    Article(
        slug="harbour-gallery-photo-3",
        title="Harbour Gallery",
        language="en",
        kind="thin",
        paragraphs=("Photo 3 of 24: sunset over the old harbour.",),
    ),
)


# Short site-navigation labels.
NAV_LINKS: tuple[str, ...] = (
    "Home",
    "World",
    "Local",
    "Business",
    "Sport",
    "Culture",
    "Opinion",
    "Weather",
    "Subscribe",
    "Log in",
)


# Cookie-consent banner texts.
COOKIE_BANNERS: tuple[str, ...] = (
    (
        "We use cookies to improve your experience on our site. By continuing to browse, you agree to our "
        "use of cookies."
    ),
    (
        "This website uses cookies and similar technologies for analytics and personalised advertising. "
        "Click Accept to continue, or Manage preferences to choose which cookies we may set."
    ),
    (
        "We and our partners store and access information on your device to measure audiences and show "
        "relevant content. You can change your choice at any time under Privacy Settings."
    ),
)


# Page footer texts.
FOOTERS: tuple[str, ...] = (
    ("Copyright 2023 The Harbour Gazette. All rights reserved. About us | Contact | Privacy policy | Terms of use"),
    (
        "© Northfield Media Group Ltd. All rights reserved. Advertise with us · Careers · Accessibility · "
        "Cookie settings"
    ),
    (
        "All content © 2019-2024 Westbrook Weekly unless otherwise stated. Reproduction without written "
        "permission is prohibited. Sitemap | RSS feeds | Back to top"
    ),
)


# Reader comments in typical web-forum style.
COMMENTS: tuple[str, ...] = (
    "First!",
    "first!!! lol",
    "Great article, thanks for sharing.",
    "This is the worst thing I've read all week. Who writes this garbage?",
    "Did anyone else see the match last night? Unbelievable.",
    "lol ok",
    "Totally agree with the author, my uncle had exactly the same experience.",
    "You clearly have no idea what you're talking about. Do some research before you post.",
    "Check out my blog for more tips!!! link in profile",
    "Can someone explain why this matters? Genuinely asking.",
    "Wow. Just wow.",
    "Not sure this is accurate, the numbers in the third paragraph don't add up.",
    "Who cares?",
    "Off topic but does anyone know a good plumber in the area?",
    "Bookmarked, will read later.",
)


# "Related stories" teaser headlines.
RELATED_HEADLINES: tuple[str, ...] = (
    "Council approves plans for new riverside footbridge",
    "Five mistakes everyone makes with houseplants",
    "Local bakery celebrates fifty years on the high street",
    "Why more commuters are switching to electric bikes",
    "Storm warning issued for coastal areas this weekend",
    "The quiet return of vinyl records",
    "School choir wins regional competition",
    "How to cut your energy bill without freezing",
    "Museum reopens after two-year renovation",
    "Ten walks to try before the summer ends",
    "Football club confirms new head coach",
    "Scientists puzzled by unusual bird migration",
)
