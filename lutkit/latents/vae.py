"""Load a diffusers ``AutoencoderKL``, fingerprint it, and encode / decode with it.

The method's encoding (DESIGN.md): an image centre-cropped and resized to 224x224, RGB
in [0, 1] as it is (no [-1, 1] normalisation, no scaling factor), goes through the
encoder; the latent is the posterior's mean and log-variance, each (4, 28, 28) for an
8x-downsampling VAE with 4 latent channels, concatenated to (8, 28, 28).

A VAE is named by a *spec*: ``"default"`` (the small VAE that ships inside lutkit,
``lutkit/resources/vae``), a local folder written by ``save_pretrained``, or a Hugging
Face hub id (``owner/name``, or ``owner/name/subfolder``) loaded through the normal
cache. Nothing is downloaded when ``HF_HUB_OFFLINE`` is set; weights are read from
safetensors only, never from pickles.

torch and diffusers are imported inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lutkit.errors import LutkitError, VAEError

if TYPE_CHECKING:
    import torch
    from diffusers import AutoencoderKL

DEFAULT_SPEC = "default"
DEFAULT_SIZE = 224
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"
WEIGHTS_INDEX_NAME = "diffusion_pytorch_model.safetensors.index.json"
_PICKLE_NAMES = ("diffusion_pytorch_model.bin", "pytorch_model.bin", "model.ckpt")
# Config keys that say where or with what a model was saved, not what it computes.
_VOLATILE_KEYS = ("_diffusers_version", "_name_or_path", "_class_name", "_use_default_values")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+(/[\w.-]+)*")
_SOURCE_ATTR = "lutkit_source"


def default_vae_dir() -> Path:
    """The folder of lutkit's own default VAE (``lutkit/resources/vae``)."""
    return Path(__file__).resolve().parents[1] / "resources" / "vae"


# --------------------------------------------------------------------------- loading


def _torch_dtype(dtype: Any):
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        table = {
            "float32": torch.float32,
            "fp32": torch.float32,
            "float16": torch.float16,
            "fp16": torch.float16,
            "bfloat16": torch.bfloat16,
            "bf16": torch.bfloat16,
        }
        if dtype not in table:
            raise VAEError(f"unknown dtype {dtype!r}", hint="use float32, float16 or bfloat16")
        return table[dtype]
    return dtype


def check_vae_folder(folder: str | os.PathLike[str]) -> Path:
    """Check that ``folder`` holds an AutoencoderKL as ``save_pretrained`` writes it.

    Raises :class:`VAEError` (one line, naming the path) when the folder is missing,
    has no config.json, a config of another class, or no safetensors weights.
    """
    path = Path(folder).expanduser()
    if not path.exists():
        raise VAEError(
            "VAE folder not found",
            path=path,
            hint="pass 'default', a folder written by save_pretrained, or a hub id owner/name",
        )
    if not path.is_dir():
        raise VAEError(
            f"not a folder (a VAE is a folder with {CONFIG_NAME} and {WEIGHTS_NAME})", path=path
        )
    config_path = path / CONFIG_NAME
    if not config_path.is_file():
        raise VAEError(f"no {CONFIG_NAME} (not a diffusers model folder)", path=path)
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VAEError(f"unreadable config: {exc}", path=config_path) from None
    _check_class(config, config_path)
    if not (path / WEIGHTS_NAME).is_file() and not (path / WEIGHTS_INDEX_NAME).is_file():
        pickles = [name for name in _PICKLE_NAMES if (path / name).exists()]
        if pickles:
            raise VAEError(
                f"weights are a pickle ({pickles[0]}); lutkit reads safetensors only",
                path=path,
                hint="convert them with save_pretrained(..., safe_serialization=True) "
                "in a trusted environment",
            )
        raise VAEError(f"no weights ({WEIGHTS_NAME})", path=path)
    if (path / WEIGHTS_NAME).is_file():
        _check_safetensors(path / WEIGHTS_NAME)
    return path


def _check_safetensors(file: Path) -> None:
    """Refuse a file that is not safetensors (e.g. a pickle under that name) before any
    loader sees it: the format starts with an 8-byte header length and a JSON header."""
    size = file.stat().st_size
    with open(file, "rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        ok = 0 < n <= min(size - 8, 100_000_000)
        if ok:
            try:
                ok = isinstance(json.loads(f.read(n)), dict)
            except (UnicodeDecodeError, json.JSONDecodeError):
                ok = False
    if not ok:
        kind = " (a zip/pickle file)" if head[:2] == b"PK" or head[:1] == b"\x80" else ""
        raise VAEError(f"not a safetensors file{kind}; lutkit reads safetensors only", path=file)


def _check_class(config: Any, where: Path | str) -> None:
    name = config.get("_class_name") if isinstance(config, dict) else None
    if name != "AutoencoderKL":
        raise VAEError(f"_class_name is {name!r}, not 'AutoencoderKL'", path=where)


def _offline() -> bool:
    """HF_HUB_OFFLINE as the environment says now (huggingface_hub reads it at import)."""
    value = os.environ.get("HF_HUB_OFFLINE", "")
    if value.strip().lower() in ("1", "on", "yes", "true"):
        return True
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:  # pragma: no cover - huggingface_hub comes with diffusers
        return False


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith(("/", "./", "../", "~", "."))
        or "\\" in spec
        or os.path.isabs(spec)
        or not _HUB_ID.fullmatch(spec)
    )


def load_vae(
    spec: str | os.PathLike[str] = DEFAULT_SPEC,
    *,
    device: str = "cpu",
    dtype: Any = None,
) -> AutoencoderKL:
    """Load an ``AutoencoderKL`` from a spec: "default", a local folder, or a hub id.

    ``dtype``: a torch dtype or its name (default float32). The model is returned in
    eval mode with gradients off; ``vae.lutkit_source`` says where it came from.
    Raises :class:`VAEError` (one line) for a missing or malformed folder, a hub id
    that is not cached while offline, or weights that are not safetensors.
    """
    torch_dtype = _torch_dtype(dtype)
    text = os.fspath(spec)
    if text == DEFAULT_SPEC:
        folder = default_vae_dir()
        if not (folder / CONFIG_NAME).is_file():
            raise VAEError(
                "lutkit's default VAE is not installed", path=folder, hint="run `make vae`"
            )
        vae = _from_folder(check_vae_folder(folder), torch_dtype)
        source = f"default ({folder})"
    elif Path(text).expanduser().exists() or _looks_like_path(text):
        folder = check_vae_folder(text)
        vae = _from_folder(folder, torch_dtype)
        source = f"folder {folder}"
    else:
        vae = _from_hub(text, torch_dtype)
        source = f"hub {text}"
    try:
        vae = vae.to(device)
    except (RuntimeError, AssertionError, ValueError) as exc:
        raise VAEError(f"cannot move the VAE to device {device!r}: {_first_line(exc)}") from None
    vae.eval().requires_grad_(False)
    setattr(vae, _SOURCE_ATTR, source)
    return vae


def _from_folder(folder: Path, torch_dtype) -> AutoencoderKL:
    from diffusers import AutoencoderKL

    try:
        return AutoencoderKL.from_pretrained(
            folder,
            use_safetensors=True,
            torch_dtype=torch_dtype,
            local_files_only=True,
            low_cpu_mem_usage=False,
        )
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise VAEError(f"cannot load the VAE: {_first_line(exc)}", path=folder) from None


def _from_hub(spec: str, torch_dtype) -> AutoencoderKL:
    from diffusers import AutoencoderKL

    parts = spec.split("/")
    repo, subfolder = "/".join(parts[:2]), "/".join(parts[2:]) or None
    offline = _offline()
    kwargs = dict(subfolder=subfolder, local_files_only=offline)
    try:
        with warnings.catch_warnings():
            # deprecation noise from huggingface_hub inside diffusers, not the user's doing
            warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
            config = AutoencoderKL.load_config(repo, **kwargs)
            _check_class(config, spec)
            return AutoencoderKL.from_pretrained(
                repo,
                use_safetensors=True,
                torch_dtype=torch_dtype,
                low_cpu_mem_usage=False,
                **kwargs,
            )
    except VAEError:
        raise
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        if offline:
            raise VAEError(
                f"VAE {spec!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is set",
                hint=f"run once online, or `huggingface-cli download {repo}`, "
                "or pass a local folder",
            ) from None
        if _unreachable(exc):
            raise VAEError(
                f"cannot reach the Hugging Face Hub to load VAE {spec!r} (no network?)",
                hint="download it once where there is a network, or pass a local folder",
            ) from None
        raise VAEError(
            f"cannot load VAE {spec!r} from the Hugging Face Hub: {_first_line(exc)}",
            hint="check the id, or pass a local folder",
        ) from None


def _unreachable(exc: BaseException) -> bool:
    """Whether loading failed because the Hub could not be reached: somewhere in the
    chain of causes, a connection error or a timeout (requests', httpx's, the socket's)
    or huggingface_hub's "not in the cache and no connection". diffusers may report
    that as a missing config.json, which would send the user after a wrong id."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ConnectionError | TimeoutError) or type(e).__name__ in _NETWORK_ERRORS:
            return True
        e = e.__cause__ or e.__context__
    return "couldn't connect" in str(exc).lower()


_NETWORK_ERRORS = {
    "ConnectionError",  # requests
    "ConnectTimeout",
    "ReadTimeout",
    "ConnectError",  # httpx
    "TimeoutException",
    "LocalEntryNotFoundError",  # huggingface_hub: not cached, and the Hub unreachable
    "gaierror",  # socket: no name resolution
}


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


# --------------------------------------------------------------------------- identity


def vae_fingerprint(vae: AutoencoderKL) -> str:
    """A 16-hex-digit id of what a VAE computes: class, config and every weight.

    The config is hashed as sorted JSON without volatile keys (version, path); the
    weights as the bytes of every state_dict tensor in name order, with its dtype and
    shape. Any change to any weight changes the fingerprint; the same weights loaded
    twice give the same one.
    """
    import torch

    config = {k: v for k, v in dict(vae.config).items() if k not in _VOLATILE_KEYS}
    config_hash = hashlib.sha256(
        json.dumps(config, sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    weights = hashlib.sha256()
    for name, tensor in sorted(vae.state_dict().items()):
        t = tensor.detach().to("cpu").contiguous()
        weights.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        weights.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    top = hashlib.sha256()
    for part in (type(vae).__name__, config_hash, weights.hexdigest()):
        top.update(part.encode("utf-8") + b"\x1f")
    return top.hexdigest()[:16]


def downsampling_factor(vae: AutoencoderKL) -> int:
    """How much the encoder shrinks each side (8 for 4 blocks)."""
    return 2 ** (len(vae.config.block_out_channels) - 1)


def describe_vae(vae: AutoencoderKL) -> dict[str, Any]:
    """What ``lutkit vae info`` prints: class, shape of the latent, size, fingerprint."""
    cfg = vae.config
    params = sum(p.numel() for p in vae.parameters())
    factor = downsampling_factor(vae)
    return {
        "class": type(vae).__name__,
        "source": getattr(vae, _SOURCE_ATTR, "(constructed in memory)"),
        "block_out_channels": list(cfg.block_out_channels),
        "layers_per_block": cfg.layers_per_block,
        "downsampling": factor,
        "latent_channels": cfg.latent_channels,
        "mid_block_attention": bool(getattr(cfg, "mid_block_add_attention", True)),
        "latent_224": f"{2 * cfg.latent_channels}x{224 // factor}x{224 // factor}",
        "parameters": params,
        "dtype": str(next(vae.parameters()).dtype).replace("torch.", ""),
        "fingerprint": vae_fingerprint(vae),
    }


# --------------------------------------------------------------------------- images


def center_crop_resize(image: np.ndarray, size: int = DEFAULT_SIZE) -> np.ndarray:
    """The centre square of an (H, W, 3) image, resized to (size, size, 3) float32 [0, 1].

    Area averaging when shrinking, bicubic (clipped) when enlarging; the input is not
    modified. uint8 / uint16 input is scaled to [0, 1].
    """
    import cv2

    from lutkit.images import to_float

    pixels = to_float(np.asarray(image))
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise LutkitError(f"expected an (H, W, 3) image, got shape {pixels.shape}")
    h, w = pixels.shape[:2]
    side = min(h, w)
    y, x = (h - side) // 2, (w - side) // 2
    square = pixels[y : y + side, x : x + side]
    if side == size:
        return np.ascontiguousarray(square)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    out = cv2.resize(np.ascontiguousarray(square), (size, size), interpolation=interp)
    return np.clip(out, 0.0, 1.0, out=out)


def images_to_tensor(images: np.ndarray | list[np.ndarray]) -> torch.Tensor:
    """(H, W, 3) or (B, H, W, 3) float images in [0, 1] -> a float32 (B, 3, H, W) tensor."""
    import torch

    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise LutkitError(f"expected (B, H, W, 3) images, got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))


def tensor_to_images(tensor: torch.Tensor) -> np.ndarray:
    """A (B, 3, H, W) tensor -> float32 (B, H, W, 3) numpy images (clipped to [0, 1])."""
    arr = tensor.detach().to("cpu").float().clamp(0.0, 1.0).numpy()
    return np.ascontiguousarray(arr.transpose(0, 2, 3, 1))


def prepare_image(image: np.ndarray, size: int = DEFAULT_SIZE) -> torch.Tensor:
    """Centre-crop and resize an (H, W, 3) image -> a (1, 3, size, size) tensor in [0, 1]."""
    return images_to_tensor(center_crop_resize(image, size))


# --------------------------------------------------------------------------- encode


def _check_batch(vae: AutoencoderKL, images: torch.Tensor) -> None:
    if images.dim() != 4 or images.shape[1] != 3:
        raise LutkitError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
    factor = downsampling_factor(vae)
    if images.shape[2] % factor or images.shape[3] % factor:
        raise LutkitError(
            f"image sides must be multiples of {factor} for this VAE, "
            f"got {images.shape[2]}x{images.shape[3]}"
        )


def encode_posterior(vae: AutoencoderKL, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The posterior of (B, 3, H, W) RGB images in [0, 1] -> (mean, logvar).

    Each is (B, C, H/f, W/f) float32 on the images' device (C latent channels, f the
    downsampling factor: (B, 4, 28, 28) at 224 for an SD-style VAE). No [-1, 1]
    scaling and no scaling factor: the method's encoding. No gradients.
    """
    import torch

    _check_batch(vae, images)
    param = next(vae.parameters())
    with torch.no_grad():
        dist = vae.encode(images.to(param.device, param.dtype)).latent_dist
    return dist.mean.float().to(images.device), dist.logvar.float().to(images.device)


def latent_of(vae: AutoencoderKL, images: torch.Tensor) -> torch.Tensor:
    """Mean and log-variance concatenated: (B, 2C, H/f, W/f), (B, 8, 28, 28) at 224."""
    import torch

    mean, logvar = encode_posterior(vae, images)
    return torch.cat([mean, logvar], dim=1)


def split_latent(latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 2C, h, w) -> (mean, logvar), each (B, C, h, w)."""
    if latent.dim() != 4 or latent.shape[1] % 2:
        raise LutkitError(f"expected a (B, 2C, h, w) latent, got {tuple(latent.shape)}")
    c = latent.shape[1] // 2
    return latent[:, :c], latent[:, c:]


def _generator(generator: torch.Generator | int | None) -> torch.Generator:
    import torch

    if isinstance(generator, torch.Generator):
        return generator
    return torch.Generator("cpu").manual_seed(0 if generator is None else int(generator))


def decode_mean(vae: AutoencoderKL, mean: torch.Tensor) -> torch.Tensor:
    """Decode the posterior mean -> (B, 3, H, W) float32 in [0, 1] (clamped)."""
    import torch

    param = next(vae.parameters())
    with torch.no_grad():
        out = vae.decode(mean.to(param.device, param.dtype)).sample
    return out.float().clamp(0.0, 1.0).to(mean.device)


def decode_sample(
    vae: AutoencoderKL,
    mean: torch.Tensor,
    logvar: torch.Tensor,
    generator: torch.Generator | int | None = None,
) -> torch.Tensor:
    """Sample z = mean + exp(logvar / 2) * noise and decode -> (B, 3, H, W) in [0, 1].

    ``generator``: a torch.Generator (the noise is drawn on its device) or an int seed
    (default 0): the same seed gives the same image.
    """
    import torch

    gen = _generator(generator)
    noise = torch.randn(mean.shape, generator=gen, device=gen.device, dtype=torch.float32)
    z = mean.float() + torch.exp(0.5 * logvar.float()) * noise.to(mean.device)
    return decode_mean(vae, z)
