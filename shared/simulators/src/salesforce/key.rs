//! The key pair of the simulated org's connected app, made for the simulator only (never trust it
//! anywhere else): the org checks JWT bearer assertions with the public key; local runs and tests sign
//! them with the private key, as an integration user's certificate does for a real org.

pub const PRIVATE_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCdQkbrXXLDiJSG\n\
yULNbdFbOfLyxHJxQVVDBqbz6fr30+kmB+ssRSpraeAs6cMAV5tHpgEC2ZCpPEQB\n\
1q9bmSSDA2PB9rHR+d0TeWowvZ5PAJkvwWq+hAcJ46vyPbk/xVW4QIMAKI+pdvr0\n\
91fmQmLFQLsrZG4SvxHcLei8V/UrXPrLoxnNL8BkI1Fczcs1ywq1YdLxPrxmu687\n\
6a/R32LUGumFoZHQe2a6lqWXmVj3goM6hV7vxLu1vqNUuO72DSniiIbnzH5vs5JW\n\
DMP4eePo3ZW3XuSRUF4rXrZSUNoEKE3Mn+2S1QHYlhEV3ld9FToHbBi+tlNCZJsa\n\
lhHyogi7AgMBAAECggEABi9QnbofpNwOx1xMActTZAyb5vtd6uFgapHs6APoSG3v\n\
qfy+vY980xunYuzQrAdGBqPbP1LyMw25OP9KB0a3HmX4Ou0qYjE7BiSMzhzvCHlk\n\
DPJE8fg8VKG9JfpSelUXAXecD1oJCGezCAZgUSCERPC+S78X6ynTmH6/vASTkmB2\n\
fP0qN7I/8hI4qiwO3R8e0iXUzOIyvHSq5X6wtvhsb0W1j+sStLoOpyb4W2w97dUC\n\
2ZJQKp6NCI/jEYVhQAWYkb+xkRf+EgqawbiPxMx5bvXI+/z8Lyt35wglcpxXkn5t\n\
dmDgdCq27y48fynq2AjAfvpT7XIBWDrxJM1uv5EbKQKBgQDN1/avnzMO1cRJkefQ\n\
Ljkvt2RcGC7wmnz3EFvN0izM+idBNvkwLPg3zjqBGGk1sq5Sj2Uwjh2GD9MGsaOI\n\
UXa9tcGVB+3/l4iYEv6GIbYSMmH2kzoBvL40U9jyBZ3Aidjx5Ly3sjEeOV1622/d\n\
zJL0l3cfsYrpzlUbjmR7aUFz+QKBgQDDk7bSrd29sOsZbsGGtO+rfXQbv8jedHRq\n\
yGxXVKcsQO70xZTNhXERs7wV9PkUNuFVAwI2VXb5WVoLPXu5b9BRUvCg2YG2nBxl\n\
vqEKAdiamJ1+4mWG5LIJz5JuqMqFaAjx2aakK1AaD2/XZI1dCkkb5ffDZBUJMBiy\n\
rHcoSlKnUwKBgB4BOfs1mIq0DE2xD/pfkoRrFhz6hXUa/9Y/szIYTeF/IVO3QLGO\n\
DIyN6idBOKzUI+by8gwW2yTcj6UtJapMPaO/p70ij8WvAAEy25kPtuuGHpODuHPi\n\
YFNeWYRF303eihoQfpXESraeJAsxi2foVw+COKINDjOwmOVQZ0M5/4l5AoGAZcen\n\
qzhkX2WE0/V5rVrYJ4zgMdi69lnwg+nNyBz76uHX+XYhnFtHnojE50BXp5dv6Mfq\n\
DNCpW9aOL69NhhGUfd4F8A+Bm8DeXmy4bfbL/JhTzkaPw4WcydJGSGR7ELY1gXdd\n\
a65Gv2ktMRDZKIRDy8sAB6U79U4cbE+oq0USgpUCgYEAiebjXD/cLJQzPyzXnGei\n\
lwXyKEEC3cnZRjeYMkLmhpJskNngPt3e81LF9+HS3nBfTJvxcPAph3P04ccp7kGm\n\
bdG0OA5r9oCDIGE/2qZVEmpdZKIjOrTMWIRJ9Ve2CP616odflOoIUEFMXPdEEnKf\n\
TWcsatH6LvbsQeL6iQNpFzw=\n\
-----END PRIVATE KEY-----\n\
";

pub const PUBLIC_KEY_PEM: &str = "\
-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnUJG611yw4iUhslCzW3R\n\
Wzny8sRycUFVQwam8+n699PpJgfrLEUqa2ngLOnDAFebR6YBAtmQqTxEAdavW5kk\n\
gwNjwfax0fndE3lqML2eTwCZL8FqvoQHCeOr8j25P8VVuECDACiPqXb69PdX5kJi\n\
xUC7K2RuEr8R3C3ovFf1K1z6y6MZzS/AZCNRXM3LNcsKtWHS8T68ZruvO+mv0d9i\n\
1BrphaGR0Htmupall5lY94KDOoVe78S7tb6jVLju9g0p4oiG58x+b7OSVgzD+Hnj\n\
6N2Vt17kkVBeK162UlDaBChNzJ/tktUB2JYRFd5XfRU6B2wYvrZTQmSbGpYR8qII\n\
uwIDAQAB\n\
-----END PUBLIC KEY-----\n\
";
