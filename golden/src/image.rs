//! Raw input images and their patch layout.

use spec::ModelShape;

/// One raw image: integer pixels `0..=pixel_max`, channel-major (`[C][H][W]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Channels `C`.
    pub chans: usize,
    /// Side `H = W`.
    pub size: usize,
    /// `C * H * W` pixels, index `(c * H + y) * W + x`.
    pub pixels: Vec<u8>,
}

impl Image {
    /// Pixel at channel `c`, row `y`, column `x`.
    pub fn at(&self, c: usize, y: usize, x: usize) -> u8 {
        self.pixels[(c * self.size + y) * self.size + x]
    }

    /// Flattened patches `[P][C * p * p]` in row-major grid order, each in `(c, py, px)` order
    /// (the PyTorch conv weight order), mapped through `f`.
    pub fn patches<T>(&self, shape: &ModelShape, mut f: impl FnMut(usize, u8) -> T) -> Vec<Vec<T>> {
        let p = shape.patch_size;
        let grid = shape.img_size / p;
        let mut out = Vec::with_capacity(grid * grid);
        for gy in 0..grid {
            for gx in 0..grid {
                let mut v = Vec::with_capacity(shape.patch_dim());
                for c in 0..self.chans {
                    for py in 0..p {
                        for px in 0..p {
                            v.push(f(c, self.at(c, gy * p + py, gx * p + px)));
                        }
                    }
                }
                out.push(v);
            }
        }
        out
    }
}
