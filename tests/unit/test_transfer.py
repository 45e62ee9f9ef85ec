"""Turn download, submit and archive against the simulator, plus hostile payloads and file names."""

from __future__ import annotations

import gzip
import os
import tracemalloc
import zlib
from pathlib import Path

import pytest
import requests

from pydt_tray.core.api import PydtClient
from pydt_tray.core.api_errors import ApiError
from pydt_tray.core.models import CivGame, Game, Metadata, TurnDownload
from pydt_tray.core.save_watch import SaveWatcher
from pydt_tray.core.saves import ARCHIVE_DIR_NAME, ensure_save_dir
from pydt_tray.core.transfer import (
    MAX_ARCHIVE_NAME,
    MAX_SAVE_BYTES,
    SaveWriter,
    TransferError,
    archive_after_submit,
    download_name,
    download_turn,
    launch_url,
    prune_archive,
    sanitize_name,
    submit_turn,
)
from pydt_tray.sandbox.simulator import PydtSimulator, unzip_save
from pydt_tray.sandbox.world import default_metadata, synthetic_save
from tests.helpers.simulator import InstrumentedSimulator
from tests.helpers.simulator_fixtures import FakeClock, World, seeded_world

METADATA = Metadata.from_json({"metadata": default_metadata(), "hash": "x"})
CIV6 = METADATA.civ_game("CIV6")
PLAY_THIS = "(PYDT) Play This One!.Civ6Save"
DLC_MESSAGE = (
    "DLC mismatch!  Please ensure that you have the correct DLC enabled (or disabled)!\n"
    "Enabled but not in save: Nubia Civilization Pack\n"
    "In save but not enabled: Persia and Macedon Civilization & Scenario Pack"
)


def game_of(client: PydtClient, game_id: str) -> Game:
    return next(g for g in client.get_games() if g.game_id == game_id)


@pytest.fixture
def save_dir(tmp_path: Path) -> Path:
    return ensure_save_dir(tmp_path / "Saves" / "Hotseat")


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- gunzip -----------------------------------------------------------------------------------------------


def gunzip_or_raw(data: bytes, max_bytes: int = MAX_SAVE_BYTES) -> bytes:
    """What the download's :class:`SaveWriter` writes for ``data`` arriving in odd-sized pieces."""
    out: list[bytes] = []
    writer = SaveWriter(out.append, max_bytes)
    for start in range(0, len(data), 7001):
        writer(data[start : start + 7001])
    writer.finish()
    return b"".join(out)


def test_gunzip_or_raw_accepts_gzip_multi_member_and_raw() -> None:
    data = os.urandom(200_000) + bytes(300_000)
    assert gunzip_or_raw(gzip.compress(data)) == data
    assert gunzip_or_raw(gzip.compress(data[:1000]) + gzip.compress(data[1000:])) == data
    assert gunzip_or_raw(gzip.compress(data) + bytes(512)) == data  # zero padding after the stream
    assert gunzip_or_raw(b"PK\x03\x04 an Old World zip") == b"PK\x03\x04 an Old World zip"


@pytest.mark.parametrize("cut", [3, 10, 500, -9, -1])
def test_truncated_gzip_is_an_error_not_a_raw_save(cut: int) -> None:
    packed = gzip.compress(os.urandom(5000))
    with pytest.raises(TransferError, match="incomplete"):
        gunzip_or_raw(packed[:cut])


def test_corrupt_gzip_is_an_error() -> None:
    packed = bytearray(gzip.compress(synthetic_save("g", 3, 50_000)))
    packed[-6] ^= 0xFF  # the CRC no longer matches
    with pytest.raises(TransferError, match="damaged"):
        gunzip_or_raw(bytes(packed))
    garbage = gzip.compress(b"save") + b"<Error>trailing</Error>"
    with pytest.raises(TransferError, match="damaged"):
        gunzip_or_raw(garbage)
    with pytest.raises(TransferError, match="damaged"):
        gunzip_or_raw(b"\x1f\x8b\x08\x00" + os.urandom(100))


def test_the_cap_applies_to_gzip_and_raw_data() -> None:
    with pytest.raises(TransferError, match="more than"):
        gunzip_or_raw(gzip.compress(bytes(3 * 1024 * 1024)), max_bytes=2 * 1024 * 1024)
    with pytest.raises(TransferError, match="larger than"):
        gunzip_or_raw(bytes(3000), max_bytes=2000)
    assert len(gunzip_or_raw(gzip.compress(bytes(2000)), max_bytes=2000)) == 2000


# --- download ---------------------------------------------------------------------------------------------


def test_download_writes_the_decompressed_turn(
    pydt_client: PydtClient, world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    seen: list[tuple[int, int | None]] = []
    game = game_of(pydt_client, world.my_turn_game)
    path = download_turn(pydt_client, game, CIV6, save_dir, progress=lambda done, total: seen.append((done, total)))
    assert path == save_dir / PLAY_THIS
    assert path.read_bytes() == synthetic_save(world.my_turn_game, 5)
    assert seen and seen[-1][0] == seen[-1][1]  # progress counted the compressed bytes to the end
    assert "compressed=yup" in simulator.recorded("getTurn")[0].query
    assert listing(save_dir) == sorted([ARCHIVE_DIR_NAME, PLAY_THIS])  # no temporary file left behind

    path.write_bytes(b"an older download")
    assert download_turn(pydt_client, game, CIV6, save_dir) == path  # overwritten
    assert path.read_bytes() == synthetic_save(world.my_turn_game, 5)


def test_turn_one_is_refused_without_asking_the_service(
    pydt_client: PydtClient, world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    game = game_of(pydt_client, world.first_turn_game)
    with pytest.raises(TransferError, match="website"):
        download_turn(pydt_client, game, CIV6, save_dir)
    assert simulator.request_count("getTurn") == 0
    assert listing(save_dir) == [ARCHIVE_DIR_NAME]


def test_not_your_turn_is_the_service_message(pydt_client: PydtClient, world: World, save_dir: Path) -> None:
    game = game_of(pydt_client, world.their_turn_game)
    with pytest.raises(ApiError) as caught:
        download_turn(pydt_client, game, CIV6, save_dir)
    assert caught.value.error_message == "It's not your damn turn!"
    assert listing(save_dir) == [ARCHIVE_DIR_NAME]


def test_a_failed_download_writes_nothing(
    pydt_client: PydtClient, world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    game = game_of(pydt_client, world.my_turn_game)
    simulator.fail_next("download", 404)
    with pytest.raises(ApiError, match="HTTP 404"):
        download_turn(pydt_client, game, CIV6, save_dir)
    assert listing(save_dir) == [ARCHIVE_DIR_NAME]


def test_an_expired_download_link_gives_a_clear_error(save_dir: Path) -> None:
    clock = FakeClock()

    class SlowClient(PydtClient):
        def get_turn(self, game_id: str) -> TurnDownload:
            turn = super().get_turn(game_id)
            clock.advance(61)  # more than a minute passes before the download starts
            return turn

    with InstrumentedSimulator(clock=clock) as sim:
        world = seeded_world(sim)
        client = SlowClient(sim.base_url, world.token, timeout=(2.0, 5.0), backoff=0.0)
        try:
            game = game_of(client, world.my_turn_game)
            with pytest.raises(TransferError, match="expired"):
                download_turn(client, game, CIV6, save_dir)
        finally:
            client.close()
    assert listing(save_dir) == [ARCHIVE_DIR_NAME]


class StubClient:
    """Serves one payload as the turn download, with the size the service would announce."""

    def __init__(self, payload: bytes, size: int | None = None) -> None:
        self.payload = payload
        self.size = len(payload) if size is None else size

    def get_turn(self, game_id: str) -> TurnDownload:
        return TurnDownload("http://127.0.0.1:9/s3/x", "v1", self.size)

    def download(self, url: str, *, max_bytes: int, progress=None) -> bytes:
        assert max_bytes == MAX_SAVE_BYTES
        return self.payload


class StreamingStubClient(StubClient):
    """Hands the payload over in 64 KB pieces, as the real client does, noting what is on disk meanwhile."""

    def __init__(self, payload: bytes, save_dir: Path, size: int | None = None) -> None:
        super().__init__(payload, size)
        self.save_dir = save_dir
        self.on_disk_mid_way = 0

    def download_into(self, url: str, write, *, max_bytes: int, progress=None) -> int:
        assert max_bytes == MAX_SAVE_BYTES
        middle = len(self.payload) // 2
        for start in range(0, len(self.payload), 64 * 1024):
            write(self.payload[start : start + 64 * 1024])
            if start <= middle < start + 64 * 1024:
                self.on_disk_mid_way = sum(path.stat().st_size for path in self.save_dir.glob(".*.part"))
        return len(self.payload)


GAME = Game(game_id="g" * 36, display_name="Stub game", game_turn_range_key=4)


@pytest.mark.parametrize(
    ("payload", "size", "message"),
    [
        (gzip.compress(synthetic_save("g", 4))[:-20], None, "incomplete"),
        (gzip.compress(synthetic_save("g", 4))[:40] + b"\x00" * 200, None, "damaged|incomplete"),
        (gzip.compress(synthetic_save("g", 4)), 99999, "incomplete"),
        (b"", None, "empty"),
    ],
)
def test_bad_payloads_write_nothing(save_dir: Path, payload: bytes, size: int | None, message: str) -> None:
    with pytest.raises(TransferError, match=message):
        download_turn(StubClient(payload, size), GAME, CIV6, save_dir)
    assert listing(save_dir) == [ARCHIVE_DIR_NAME]


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzip-compressed to about 1 MB, built one megabyte at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [compressor.compress(block) for _ in range(1024)]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_a_decompression_bomb_is_refused(save_dir: Path, gzip_bomb: bytes) -> None:
    assert len(gzip_bomb) < 2 * 1024 * 1024
    with pytest.raises(TransferError, match="more than 128 MB"):
        download_turn(StubClient(gzip_bomb), GAME, CIV6, save_dir)
    assert listing(save_dir) == [ARCHIVE_DIR_NAME]
    with pytest.raises(TransferError, match="more than 128 MB"):
        download_turn(StreamingStubClient(gzip_bomb, save_dir), GAME, CIV6, save_dir)
    assert listing(save_dir) == [ARCHIVE_DIR_NAME]


def test_a_large_save_is_unpacked_straight_to_disk(save_dir: Path) -> None:
    """40 MB of save from a small gzip download: written while it arrives, never held whole in memory."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(range(256)) * 4096  # 1 MB
    payload = b"".join([compressor.compress(block) for _ in range(40)] + [compressor.flush()])
    client = StreamingStubClient(payload, save_dir)
    tracemalloc.start()
    try:
        path = download_turn(client, GAME, CIV6, save_dir)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path.stat().st_size == 40 * len(block)
    with path.open("rb") as handle:
        assert handle.read(len(block)) == block
    assert client.on_disk_mid_way > 10 * len(block)  # half the download in: well over 10 MB already on disk
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes"
    assert listing(save_dir) == sorted([ARCHIVE_DIR_NAME, path.name])


def test_download_name_refuses_odd_extensions() -> None:
    assert download_name("zip") == "(PYDT) Play This One!.zip"
    for bad in ("", "../x", "a/b", "Civ6Save\n"):
        with pytest.raises(TransferError):
            download_name(bad)


# --- submit -----------------------------------------------------------------------------------------------


def test_submit_uploads_gzip_and_advances_the_turn(
    pydt_client: PydtClient, world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    save = save_dir / "MyTurn.Civ6Save"
    content = synthetic_save("mine", 6, 40_000)
    save.write_bytes(content)
    before = save.stat()
    game = submit_turn(pydt_client, world.my_turn_game, save)
    assert game.game_turn_range_key == 6
    assert game.current_player_steam_id == world.alice
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6
    uploaded = simulator.uploaded(world.my_turn_game)
    assert uploaded is not None and uploaded[:2] == b"\x1f\x8b" and gzip.decompress(uploaded) == content
    put = simulator.recorded("upload")[0]
    assert put.headers["content-type"] == "application/octet-stream"
    assert "content-encoding" not in put.headers
    assert save.read_bytes() == content and save.stat().st_mtime_ns == before.st_mtime_ns  # left alone


def test_submit_when_it_is_not_your_turn(pydt_client: PydtClient, world: World, save_dir: Path) -> None:
    save = save_dir / "x.Civ6Save"
    save.write_bytes(b"my precious save")
    with pytest.raises(ApiError) as caught:
        submit_turn(pydt_client, world.their_turn_game, save)
    assert caught.value.status == 400
    assert caught.value.error_message == "It's not your turn!"
    assert save.read_bytes() == b"my precious save"


def test_a_rejected_save_keeps_the_message_verbatim_and_can_be_resubmitted(
    pydt_client: PydtClient, world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    save = save_dir / "x.Civ6Save"
    save.write_bytes(b"my precious save")
    simulator.reject_next_finish(world.my_turn_game, DLC_MESSAGE)
    with pytest.raises(ApiError) as caught:
        submit_turn(pydt_client, world.my_turn_game, save)
    assert caught.value.error_message == DLC_MESSAGE  # newlines and double spaces kept
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 5
    assert save.read_bytes() == b"my precious save"

    game = submit_turn(pydt_client, world.my_turn_game, save)  # re-submit: a fresh startSubmit and PUT
    assert game.game_turn_range_key == 6
    assert simulator.request_count("startSubmit") == 2
    queries = [r.query for r in simulator.recorded("upload")]
    assert len(queries) == 2 and queries[0] != queries[1]


def test_a_failed_upload_is_retried_with_a_fresh_link(
    pydt_client: PydtClient, world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    save = save_dir / "x.Civ6Save"
    save.write_bytes(b"my precious save")
    simulator.fail_next("upload", 500)
    assert submit_turn(pydt_client, world.my_turn_game, save).game_turn_range_key == 6
    assert simulator.request_count("startSubmit") == 2
    queries = [r.query for r in simulator.recorded("upload")]
    assert len(queries) == 2 and queries[0] != queries[1]

    simulator.fail_next("upload", 500, count=2)
    simulator.set_current_player(world.my_turn_game, world.me)
    with pytest.raises(ApiError, match="HTTP 500"):
        submit_turn(pydt_client, world.my_turn_game, save)
    assert simulator.game(world.my_turn_game)["gameTurnRangeKey"] == 6  # finishSubmit never called


def test_the_upload_link_refuses_another_content_type(pydt_client: PydtClient, world: World) -> None:
    put_url = pydt_client.start_submit(world.my_turn_game)
    with requests.put(put_url, data=b"save", headers={"Content-Type": "text/plain"}, timeout=5) as response:
        assert response.status_code == 403
        assert b"SignatureDoesNotMatch" in response.content
    with requests.put(
        put_url, data=b"save", headers={"Content-Type": "application/octet-stream"}, timeout=5
    ) as response:
        assert response.status_code == 200


def test_unreadable_or_empty_saves_are_refused_before_any_call(
    pydt_client: PydtClient, world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    empty = save_dir / "empty.Civ6Save"
    empty.touch()
    with pytest.raises(TransferError, match="empty"):
        submit_turn(pydt_client, world.my_turn_game, empty)
    with pytest.raises(TransferError, match="Could not read"):
        submit_turn(pydt_client, world.my_turn_game, save_dir / "missing.Civ6Save")
    assert simulator.request_count("startSubmit") == 0


# --- archive ----------------------------------------------------------------------------------------------


def test_archive_moves_the_save_and_deletes_the_download(save_dir: Path) -> None:
    save = save_dir / "MyTurn.Civ6Save"
    save.write_bytes(b"submitted")
    (save_dir / PLAY_THIS).write_bytes(b"downloaded")
    (save_dir / "other.Civ6Save").write_bytes(b"other")
    archived = archive_after_submit("0123456789abcdef", save, save_dir, 100)
    assert archived == save_dir / ARCHIVE_DIR_NAME / "01234567_MyTurn.Civ6Save"
    assert archived.read_bytes() == b"submitted"
    assert listing(save_dir) == sorted([ARCHIVE_DIR_NAME, "other.Civ6Save"])

    save.write_bytes(b"next turn, same name")
    again = archive_after_submit("0123456789abcdef", save, save_dir, 100)
    assert again.name == "01234567_MyTurn (2).Civ6Save"  # never overwrites an archived save
    assert archived.read_bytes() == b"submitted"


def test_archive_is_pruned_oldest_first_ignoring_folders(save_dir: Path) -> None:
    archive = save_dir / ARCHIVE_DIR_NAME
    (archive / "keep-me").mkdir()
    for index in range(5):
        old = archive / f"old{index}.Civ6Save"
        old.write_bytes(b"x")
        os.utime(old, ns=(index * 10**9, index * 10**9))  # also sets ctime, in this order
    save = save_dir / "new.Civ6Save"
    save.write_bytes(b"new")
    archived = archive_after_submit("abcdefgh-1", save, save_dir, 3)
    assert listing(archive) == sorted(["keep-me", "old3.Civ6Save", "old4.Civ6Save", archived.name])

    assert prune_archive(archive, 0) != []
    assert listing(archive) == ["keep-me"]


@pytest.mark.parametrize("name", ["../../evil", "..", ".", "/etc/passwd", "a\x00b", "C:\\x\\..\\y", "x" * 400])
def test_sanitized_names_cannot_leave_their_folder(name: str) -> None:
    safe = sanitize_name(name)
    assert "/" not in safe and "\\" not in safe and ":" not in safe and ".." not in safe
    assert safe not in ("", ".") and all(ord(ch) >= 32 for ch in safe)
    assert 0 < len(safe) <= MAX_ARCHIVE_NAME


@pytest.mark.parametrize(
    "name", ["..\\..\\evil.Civ6Save", "...Civ6Save", "a\x1b[31mred\nline.Civ6Save", "x" * 240 + ".Civ6Save"]
)
def test_malicious_save_names_stay_in_the_archive(save_dir: Path, name: str) -> None:
    source = save_dir / name
    source.write_bytes(b"save")
    archived = archive_after_submit("../../xy/zz", source, save_dir, 100)
    assert archived.parent == save_dir / ARCHIVE_DIR_NAME
    assert archived.read_bytes() == b"save"
    assert archived.name.startswith("_._xy_")
    assert len(archived.name) <= MAX_ARCHIVE_NAME and archived.name.endswith(".Civ6Save")
    assert all(ord(ch) >= 32 for ch in archived.name)
    assert listing(save_dir / ARCHIVE_DIR_NAME) == [archived.name]


def test_a_failed_move_leaves_the_save(save_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / ARCHIVE_DIR_NAME).write_text("not a folder")
    save = folder / "MyTurn.Civ6Save"
    save.write_bytes(b"submitted")
    with pytest.raises(TransferError, match="left where it is"):
        archive_after_submit("0123456789", save, folder, 10)
    assert save.read_bytes() == b"submitted"


def test_launch_urls(caplog: pytest.LogCaptureFixture) -> None:
    assert launch_url(CIV6, "steam") == "steam://run/289070/\\dx11"
    assert launch_url(CIV6, "epic") == "com.epicgames.launcher://apps/Kinglet?action=launch&silent=true"
    assert launch_url(CIV6, "gog") is None
    odd = CivGame.from_json({**default_metadata()["civGames"][0], "runUrls": {"steam": "file:///bin/sh"}})
    assert launch_url(odd, "steam") is None
    assert "unexpected scheme 'file'" in caplog.text


# --- the whole turn -------------------------------------------------------------------------------------


def test_full_turn_download_detect_submit_archive(
    pydt_client: PydtClient, world: World, simulator: PydtSimulator, save_dir: Path
) -> None:
    archive = save_dir / ARCHIVE_DIR_NAME
    for index in range(3):
        (archive / f"older{index}.Civ6Save").write_bytes(b"old")
        os.utime(archive / f"older{index}.Civ6Save", ns=(index * 10**9, index * 10**9))
    game = game_of(pydt_client, world.my_turn_game)
    downloaded = download_turn(pydt_client, game, CIV6, save_dir)

    clock = FakeClock()
    watcher = SaveWatcher(save_dir, CIV6.save_extension, clock=clock)
    watcher.arm()
    assert watcher.poll() is None
    downloaded.write_bytes(synthetic_save(world.my_turn_game, 5) + b"!")  # the game touches the download
    clock.advance(5.1)
    assert watcher.poll() is None and watcher.poll() is None
    save = save_dir / "Round 2 - my move.Civ6Save"
    save.write_bytes(synthetic_save("me", 6))
    assert watcher.poll() is None  # first sighting: wait one poll for the write to settle
    assert watcher.poll() == save

    updated = submit_turn(pydt_client, game.game_id, save)
    assert updated.game_turn_range_key == game.game_turn_range_key + 1
    assert unzip_save(simulator.uploaded(game.game_id) or b"") == synthetic_save("me", 6)
    archived = archive_after_submit(game.game_id, save, save_dir, 2, extension=CIV6.save_extension)
    assert archived.read_bytes() == synthetic_save("me", 6)
    assert not save.exists() and not downloaded.exists()
    assert listing(archive) == sorted(["older2.Civ6Save", archived.name])


@pytest.mark.parametrize("extension", ["desktop", "bat", "plist", "cmd", "sh", "service", "Civ6Save.desktop"])
def test_only_the_known_save_extensions_are_written(extension: str) -> None:
    with pytest.raises(TransferError, match="does not know"):
        download_name(extension)
    for known in ("Civ6Save", "Civ7Save", "Civ5Save", "CivBESave", "zip"):
        assert download_name(known).endswith("." + known)


def test_a_download_never_lands_in_an_autostart_folder(tmp_path: Path) -> None:
    autostart = tmp_path / ".config" / "autostart"
    autostart.mkdir(parents=True)
    with pytest.raises(TransferError, match="autostart"):
        download_turn(StubClient(gzip.compress(b"save")), GAME, CIV6, autostart)
    assert list(autostart.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    ["steam:run/289070", "steam://run/289070 --evil", "steam://run/1\n", "https://example.org", "file:///bin/sh"],
)
def test_launch_links_must_be_plain_steam_or_epic_links(url: str, caplog: pytest.LogCaptureFixture) -> None:
    odd = CivGame.from_json({**default_metadata()["civGames"][0], "runUrls": {"steam": url}})
    assert launch_url(odd, "steam") is None
    assert "Ignoring a launch link" in caplog.text
